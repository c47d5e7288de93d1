"""A Cloud Signature Consortium API client written from the CSC specifications (1.0.4.0 and
2.2.0.0) and docs/csc.md alone, with the standard library and pyca `cryptography` — no sam
code. The samctl tests `a_csc_client_signs_by_pin_and_otp_on_both_versions` and
`a_csc_client_signs_after_the_users_device_approves` run it against samd.

    csc_client.py CONFIG

CONFIG is a JSON file: {"server", "ca", "pin", "mailbox", "alice", "bob", "ec", "pss",
"other_ec"} — the server's address, its CA file, alice's PIN, the development mailbox where
her OTPs land, access tokens of alice and bob (both users of one client), the ids of alice's
SCAL1 credentials (ECDSA P-256 with SHA-256, RSA-PSS with SHA-256), and of another user's
credential. For each version it reads `info`, lists and
describes alice's credentials, authorises hashes with her PIN and with an OTP sam sent her,
and signs them, and verifies
every signature with the certificate `credentials/info` gave; then it tries what a thief or
a confused client would (a replayed SAD, another user's token, another credential, another
hash, the other version's field names, a wrong PIN) and expects each to be refused.

With a "device" entry ({"credential", "samctl", "key_file", "cwd", "env"}: alice's SCAL2
credential, and how to run her device — samctl's software device) it runs the device flows
instead: v2 `authorize` answers 202 with a handle and `authorizeCheck` gives the SAD once the
device approved (or the decline), v1 `authorize` waits for the device (or gives up).

Exit 0 when every step did what the spec and the docs say.
"""

import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

SHA256 = "2.16.840.1.101.3.4.2.1"
ECDSA_SHA256 = "1.2.840.10045.4.3.2"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"
RSASSA_PSS = "1.2.840.113549.1.1.10"
# RSASSA-PSS-params for SHA-256, MGF1-SHA-256, salt 32 (RFC 4055 section 3.1), DER.
PSS_SHA256_PARAMS = bytes.fromhex(
    "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d0609608648016503"
    "0402010500a203020120"
)


def b64(data):
    return base64.b64encode(data).decode()


class Refused(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


class Csc:
    """One version's endpoints, for one access token."""

    def __init__(self, server, ca, version, token=None):
        self.base = f"https://{server}/csc/{version}/"
        self.context = ssl.create_default_context(cafile=ca)
        self.token = token
        self.version = version

    def call(self, method, body):
        request = urllib.request.Request(
            self.base + method,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, context=self.context) as answer:
                text = answer.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            raise Refused(e.code, json.loads(e.read() or b"null")) from None

    def refused(self, method, body, status, error=None):
        """The call is refused with `status` (and CSC `error`) in CSC's error form."""
        try:
            answer = self.call(method, body)
        except Refused as e:
            assert e.status == status, f"{method}: {e.status} {e.body}, not {status}"
            assert set(e.body) == {"error", "error_description"}, e.body
            if error:
                assert e.body["error"] == error, e.body
            return e.body
        raise AssertionError(f"{method} {body} was not refused: {answer}")


def verify(certificate, credential_kind, digest, signature):
    key = certificate.public_key()
    prehashed = utils.Prehashed(hashes.SHA256())
    if credential_kind == "ec":
        # CSC: ECDSA signature values are DER (SEQUENCE of r and s).
        key.verify(signature, digest, ec.ECDSA(prehashed))
    else:
        key.verify(
            signature,
            digest,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            prehashed,
        )


def authorize_body(version, credential, digests, pin=None, otp=None):
    body = {"credentialID": credential, "numSignatures": len(digests)}
    hashes_b64 = [b64(d) for d in digests]
    if version == "v1":
        body["hash"] = hashes_b64
        if pin is not None:
            body["PIN"] = pin
        if otp is not None:
            body["OTP"] = otp
    else:
        body.update({"hashes": hashes_b64, "hashAlgorithmOID": SHA256, "authData": []})
        if pin is not None:
            body["authData"].append({"id": "PIN", "value": pin})
        if otp is not None:
            body["authData"].append({"id": "OTP", "value": otp})
    return body


def last_code(mailbox):
    """The code of the last notification in the development mailbox (docs/notifications.md)."""
    with open(mailbox) as f:
        lines = [line for line in f if line.strip()]
    return json.loads(lines[-1])["code"]


def sign_body(version, credential, sad, digests, sign_algo, params=None):
    body = {"credentialID": credential, "SAD": sad, "signAlgo": sign_algo}
    hashes_b64 = [b64(d) for d in digests]
    if version == "v1":
        body.update({"hash": hashes_b64, "hashAlgo": SHA256})
    else:
        body.update({"hashes": hashes_b64, "hashAlgorithmOID": SHA256, "operationMode": "S"})
    if params is not None:
        body["signAlgoParams"] = b64(params)
    return body


def run(config, version):
    alice = Csc(config["server"], config["ca"], version, config["alice"])
    bob = Csc(config["server"], config["ca"], version, config["bob"])
    pin = config["pin"]

    info = Csc(config["server"], config["ca"], version).call("info", {"lang": "en-US"})
    assert info["specs"] == {"v1": "1.0.4.0", "v2": "2.2.0.0"}[version], info
    for method in ("credentials/list", "credentials/info", "credentials/authorize",
                   "signatures/signHash"):
        assert method in info["methods"], info["methods"]

    listed = alice.call("credentials/list", {})["credentialIDs"]
    assert sorted(listed) == sorted([config["ec"], config["pss"]]), listed
    certificates = {}
    for kind in ("ec", "pss"):
        described = alice.call(
            "credentials/info",
            {"credentialID": config[kind], "certInfo": True, "authInfo": True},
        )
        assert described["SCAL"] == "1", described
        assert described["multisign"] >= 2, described
        if version == "v1":
            assert described["authMode"] == "explicit" and described["PIN"]["presence"], described
        else:
            assert any(o["id"] == "PIN" for o in described["auth"]["objects"]), described
        cert = x509.load_der_x509_certificate(base64.b64decode(described["cert"]["certificates"][0]))
        assert cert.serial_number == int(described["cert"]["serialNumber"], 16)
        certificates[kind] = cert
        algo = described["key"]["algo"]
        assert (ECDSA_SHA256 in algo and EC_PUBLIC_KEY in algo) if kind == "ec" else algo == [RSASSA_PSS], algo

    documents = [f"{version} contract {i}".encode() for i in range(2)]
    digests = [hashlib.sha256(d).digest() for d in documents]

    # One hash, ECDSA: authorised by the PIN, signed once.
    answer = alice.call("credentials/authorize", authorize_body(version, config["ec"], digests[:1], pin))
    sad, expires_in = answer["SAD"], answer["expiresIn"]
    assert isinstance(sad, str) and 0 < expires_in <= 3600, answer
    signed = alice.call("signatures/signHash", sign_body(version, config["ec"], sad, digests[:1], ECDSA_SHA256))
    verify(certificates["ec"], "ec", digests[0], base64.b64decode(signed["signatures"][0]))
    # Replayed: the SAD signed once.
    alice.refused("signatures/signHash", sign_body(version, config["ec"], sad, digests[:1], ECDSA_SHA256), 409)
    alice.refused("credentials/extendTransaction", {"credentialID": config["ec"], "SAD": sad}, 409)

    # Two hashes in one authorisation, RSA-PSS, signed in the order asked (reversed here).
    answer = alice.call("credentials/authorize", authorize_body(version, config["pss"], digests, pin))
    sad = answer["SAD"]
    # extendTransaction: the SAD still stands for these hashes (sam cannot extend what the
    # user authorised: the same SAD, with the time it has left); not for others.
    hash_field = "hash" if version == "v1" else "hashes"
    extend = {"credentialID": config["pss"], "SAD": sad, hash_field: [b64(d) for d in digests]}
    extended = alice.call("credentials/extendTransaction", extend)
    assert extended["SAD"] == sad and 0 < extended["expiresIn"] <= answer["expiresIn"], extended
    alice.refused("credentials/extendTransaction", {**extend, hash_field: [b64(hashlib.sha256(b"x").digest())]}, 400)
    bob.refused("credentials/extendTransaction", extend, 404)
    # Bob cannot use alice's SAD; nor can it sign with her other credential, another hash, a
    # subset, or an altered SAD; PSS needs its parameters, and only the credential's.
    bob.refused("signatures/signHash", sign_body(version, config["pss"], sad, digests, RSASSA_PSS, PSS_SHA256_PARAMS), 404)
    alice.refused("signatures/signHash", sign_body(version, config["ec"], sad, digests, ECDSA_SHA256), 400)
    alice.refused("signatures/signHash", sign_body(version, config["other_ec"], sad, digests, ECDSA_SHA256), 404)
    other = [hashlib.sha256(b"something else").digest(), digests[1]]
    alice.refused("signatures/signHash", sign_body(version, config["pss"], sad, other, RSASSA_PSS, PSS_SHA256_PARAMS), 400)
    alice.refused("signatures/signHash", sign_body(version, config["pss"], sad, digests[:1], RSASSA_PSS, PSS_SHA256_PARAMS), 400)
    altered = sad[:-2] + ("AA" if not sad.endswith("AA") else "BB")
    alice.refused("signatures/signHash", sign_body(version, config["pss"], altered, digests, RSASSA_PSS, PSS_SHA256_PARAMS), 400)
    alice.refused("signatures/signHash", sign_body(version, config["pss"], sad, digests, RSASSA_PSS), 400, "invalid_request")
    alice.refused("signatures/signHash", sign_body(version, config["pss"], sad, digests, ECDSA_SHA256), 400, "invalid_request")
    reversed_digests = list(reversed(digests))
    signed = alice.call("signatures/signHash", sign_body(version, config["pss"], sad, reversed_digests, RSASSA_PSS, PSS_SHA256_PARAMS))
    assert len(signed["signatures"]) == 2, signed
    for digest, signature in zip(reversed_digests, signed["signatures"]):
        verify(certificates["pss"], "pss", digest, base64.b64decode(signature))
    # Each signature is of its own hash: swapped, they do not verify.
    try:
        verify(certificates["pss"], "pss", reversed_digests[0], base64.b64decode(signed["signatures"][1]))
        raise AssertionError("a signature verified for another hash")
    except InvalidSignature:
        pass

    # Refusals at authorisation: a wrong PIN, too many or too few signatures, a bad digest,
    # the other version's field names, another user's credential.
    wrong = alice.refused("credentials/authorize", authorize_body(version, config["ec"], digests[:1], "wrong pin 1"), 401, "invalid_pin")
    assert wrong["error_description"].startswith("authentication_failed"), wrong
    body = authorize_body(version, config["ec"], digests, pin)
    body["numSignatures"] = 1
    alice.refused("credentials/authorize", body, 400, "invalid_request")
    body["numSignatures"] = 99
    alice.refused("credentials/authorize", body, 400)
    short = authorize_body(version, config["ec"], [b"\x01" * 20], pin)
    assert "Invalid digest value length" in alice.refused("credentials/authorize", short, 400)["error_description"]
    if version == "v1":
        foreign = authorize_body("v2", config["ec"], digests[:1], pin)
        foreign.pop("hashAlgorithmOID")
        foreign.pop("authData")
        foreign["PIN"] = pin
    else:
        foreign = authorize_body("v1", config["ec"], digests[:1], pin)
    alice.refused("credentials/authorize", foreign, 400, "invalid_request")
    alice.refused("credentials/authorize", authorize_body(version, config["other_ec"], digests[:1], pin), 404)

    # By OTP: sendOTP, then the code sam sent (here read from the development mailbox).
    described = alice.call("credentials/info", {"credentialID": config["ec"], "authInfo": True})
    if version == "v1":
        assert described["OTP"]["type"] == "online" and described["OTP"]["presence"] == "optional", described
    else:
        assert [o["id"] for o in described["auth"]["objects"]] == ["PIN", "OTP"], described
        assert described["auth"]["expression"] == "PIN OR OTP", described
    assert alice.call("credentials/sendOTP", {"credentialID": config["ec"]}) is None
    code = last_code(config["mailbox"])
    wrong = "000000" if code != "000000" else "000001"
    alice.refused("credentials/authorize", authorize_body(version, config["ec"], digests[:1], otp=wrong), 400, "invalid_otp")
    answer = alice.call("credentials/authorize", authorize_body(version, config["ec"], digests[:1], otp=code))
    signed = alice.call("signatures/signHash", sign_body(version, config["ec"], answer["SAD"], digests[:1], EC_PUBLIC_KEY))
    verify(certificates["ec"], "ec", digests[0], base64.b64decode(signed["signatures"][0]))
    if version == "v2":
        run_asynchronous(alice, bob, config, certificates, pin)
    else:
        body = sign_body(version, config["ec"], "x", digests[:1], ECDSA_SHA256)
        body["operationMode"] = "A"
        alice.refused("signatures/signHash", body, 400, "invalid_request")
    # A code is used once; bob cannot have one sent for alice's credential.
    alice.refused("credentials/authorize", authorize_body(version, config["ec"], digests[:1], otp=code), 400, "invalid_otp")
    bob.refused("credentials/sendOTP", {"credentialID": config["ec"]}, 404)
    print(f"{version}: ok")


def device(config, action, request=None, wait=None):
    """The user's device (samctl's software device) approving or declining, as a process."""
    d = config["device"]
    argv = [d["samctl"], "device", action, "--key-file", d["key_file"]]
    if action == "approve":
        argv.append("--yes")
        if wait:
            argv += ["--wait", str(wait)]
    if request:
        argv.append(request)
    return subprocess.Popen(argv, cwd=d["cwd"], env={**os.environ, **d["env"]},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(process):
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, (out, err)


def run_device(config, version):
    """A SCAL2 credential: the user's device approves (v2: handle and authorizeCheck; v1: the
    call waits), or declines, or does not answer in time (v1)."""
    alice = Csc(config["server"], config["ca"], version, config["alice"])
    bob = Csc(config["server"], config["ca"], version, config["bob"])
    credential = config["device"]["credential"]
    described = alice.call("credentials/info", {"credentialID": credential, "authInfo": True,
                                                "certInfo": True})
    assert described["SCAL"] == "2", described
    if version == "v1":
        assert described["authMode"] == "implicit" and "PIN" not in described, described
    else:
        assert described["auth"] == {"mode": "explicit", "expression": "", "objects": []}, described
        assert "credentials/authorizeCheck" in Csc(config["server"], config["ca"], version).call("info", {})["methods"]
    cert = x509.load_der_x509_certificate(base64.b64decode(described["cert"]["certificates"][0]))
    digests = [hashlib.sha256(f"{version} device contract {i}".encode()).digest() for i in range(2)]

    # Under SCAL2 no PIN stands in for the device.
    alice.refused("credentials/authorize", authorize_body(version, credential, digests[:1], pin=config["pin"]), 400, "invalid_request")

    if version == "v2":
        answer = alice.call("credentials/authorize", authorize_body(version, credential, digests[:1]))
        handle = answer["handle"]
        assert set(answer) == {"handle"}, answer
        # Not yet answered: 202 again; bob cannot look at alice's handle.
        pending = alice.call("credentials/authorizeCheck", {"handle": handle})
        assert pending == {"handle": handle}, pending
        bob.refused("credentials/authorizeCheck", {"handle": handle}, 404)
        # The handle is no SAD.
        alice.refused("signatures/signHash", sign_body(version, credential, handle, digests[:1], ECDSA_SHA256), 400)
        finished(device(config, "approve"))
        answer = alice.call("credentials/authorizeCheck", {"handle": handle})
        assert 0 < answer["expiresIn"] <= 3600, answer
        signed = alice.call("signatures/signHash", sign_body(version, credential, answer["SAD"], digests[:1], ECDSA_SHA256))
        verify(cert, "ec", digests[0], base64.b64decode(signed["signatures"][0]))
        # Once signed, the handle gives no SAD again.
        alice.refused("credentials/authorizeCheck", {"handle": handle}, 409)
        # Declined on the device: access_denied, and nothing to sign.
        handle = alice.call("credentials/authorize", authorize_body(version, credential, digests[1:]))["handle"]
        finished(device(config, "decline", request=handle.split(".")[1]))
        alice.refused("credentials/authorizeCheck", {"handle": handle}, 409, "access_denied")
    else:
        # The device approves while the call waits (it looks for the request for 30 s).
        approver = device(config, "approve", wait=30)
        answer = alice.call("credentials/authorize", authorize_body(version, credential, digests))
        finished(approver)
        signed = alice.call("signatures/signHash", sign_body(version, credential, answer["SAD"], digests, ECDSA_SHA256))
        for digest, signature in zip(digests, signed["signatures"]):
            verify(cert, "ec", digest, base64.b64decode(signature))
        # Nobody answers: the call gives up after [csc] authorize_wait_secs and withdraws it.
        refused = alice.refused("credentials/authorize", authorize_body(version, credential, digests[:1]), 503, "temporarily_unavailable")
        assert refused["error_description"].startswith("request_timeout"), refused
        listed = subprocess.run([config["device"]["samctl"], "device", "pending", "--key-file",
                                 config["device"]["key_file"]], cwd=config["device"]["cwd"],
                                env={**os.environ, **config["device"]["env"]},
                                capture_output=True, text=True, check=True)
        assert "device contract" not in listed.stdout and "Signature" not in listed.stdout, listed.stdout
    print(f"{version} device: ok")


def poll(csc, response_id):
    """signPolling until the outcome is there (202 while it is made)."""
    for _ in range(100):
        request = urllib.request.Request(
            csc.base + "signatures/signPolling",
            data=json.dumps({"responseID": response_id}).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {csc.token}"},
        )
        try:
            with urllib.request.urlopen(request, context=csc.context) as answer:
                body = json.loads(answer.read())
                if answer.status == 200:
                    return body
                assert answer.status == 202 and body == {"responseID": response_id}, body
        except urllib.error.HTTPError as e:
            raise Refused(e.code, json.loads(e.read() or b"null")) from None
        time.sleep(0.1)
    raise AssertionError("the asynchronous signature never came")


def run_asynchronous(alice, bob, config, certificates, pin):
    """v2 operationMode A: 202 with a responseID at once, then signPolling."""
    info = Csc(config["server"], config["ca"], "v2").call("info", {})
    assert info["asynchronousOperationMode"] is True, info
    assert "signatures/signPolling" in info["methods"], info
    digests = [hashlib.sha256(b"asynchronous contract").digest()]
    sad = alice.call("credentials/authorize", authorize_body("v2", config["ec"], digests, pin))["SAD"]
    body = sign_body("v2", config["ec"], sad, digests, ECDSA_SHA256)
    body.update({"operationMode": "A", "validity_period": 60000})
    request = urllib.request.Request(
        alice.base + "signatures/signHash", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {alice.token}"})
    with urllib.request.urlopen(request, context=alice.context) as answer:
        assert answer.status == 202, answer.status
        response_id = json.loads(answer.read())["responseID"]
    # Bob cannot read alice's outcome; nor is an unknown id anything.
    bob.refused("signatures/signPolling", {"responseID": response_id}, 404)
    alice.refused("signatures/signPolling", {"responseID": "0" * 32}, 404)
    signed = poll(alice, response_id)
    verify(certificates["ec"], "ec", digests[0], base64.b64decode(signed["signatures"][0]))
    # The outcome stays readable; the SAD was spent once.
    assert poll(alice, response_id) == signed
    body.pop("validity_period")
    alice.refused("signatures/signHash", body, 409)
    # What can be refused at once is: another hash than authorised.
    sad = alice.call("credentials/authorize", authorize_body("v2", config["ec"], digests, pin))["SAD"]
    body = sign_body("v2", config["ec"], sad, [hashlib.sha256(b"other").digest()], ECDSA_SHA256)
    body["operationMode"] = "A"
    refused = alice.refused("signatures/signHash", body, 400)
    assert refused["error_description"].startswith("sad_invalid"), refused
    # No call-backs, and the period within bounds.
    body = sign_body("v2", config["ec"], sad, digests, ECDSA_SHA256)
    body.update({"operationMode": "A", "response_uri": "https://attacker.example/"})
    alice.refused("signatures/signHash", body, 501, "unsupported_operation")
    body.pop("response_uri")
    body["validity_period"] = 0
    alice.refused("signatures/signHash", body, 400, "invalid_request")
    body.update({"operationMode": "S", "validity_period": 1000})
    alice.refused("signatures/signHash", body, 400, "invalid_request")


def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    if "device" in config:
        for version in ("v2", "v1"):
            run_device(config, version)
    else:
        for version in ("v1", "v2"):
            run(config, version)


if __name__ == "__main__":
    main()
