"""An authorisation device written from docs/device.md, docs/api.md and docs/sad.md alone,
with pyca `cryptography` and `asn1crypto` — no sam code. The samctl test
`a_device_written_from_the_docs_enrols_and_approves` runs it against samd.

    outside_device.py SERVER CA CLIENT_ID CLIENT_SECRET PROFILE_ID KIND

KIND is es256, ps256 or ml-dsa-65 (the profile's authorisation key). As the business
application it creates a user and her signing key, registers this device, and asks for a raw
signature of a digest; as the device it opens a session, decodes the pending request, signs a
SAD in the server's format (and shows the other format is refused), answers it; then, as the
application again, signs and verifies the signature with the key's public key. Exit 0 when
every step did what the docs say.
"""

import base64
import datetime
import hashlib
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

from asn1crypto import core
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding, rsa, utils


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Api:
    def __init__(self, server, ca):
        self.server = server
        self.context = ssl.create_default_context(cafile=ca)

    def call(self, method, path, body=None, auth=None, expect=None):
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.context) as answer:
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        if expect is not None and status != expect:
            sys.exit(f"{method} {path}: expected {expect}, got {status}: {text}")
        return status, (json.loads(text) if text.strip() else None)


# --- the device's key (docs/device.md "Keys and signatures") ---


class DeviceKey:
    def __init__(self, kind):
        self.kind = kind
        if kind == "es256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.jose = "ES256"
        elif kind == "ps256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jose = "PS256"
        elif kind == "ml-dsa-65":
            self.private = mldsa.MLDSA65PrivateKey.generate()
            self.jose = "ML-DSA-65"
        else:
            sys.exit(f"unknown kind {kind}")
        self.spki = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, message):
        """A device message or a DER SAD's tbs: ECDSA as DER ECDSA-Sig-Value."""
        if self.kind == "es256":
            return self.private.sign(message, ec.ECDSA(hashes.SHA256()))
        if self.kind == "ps256":
            return self.private.sign(
                message,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        return self.private.sign(message)  # pure ML-DSA, empty context

    def sign_jws(self, signing_input):
        signature = self.sign(signing_input)
        if self.kind == "es256":
            r, s = utils.decode_dss_signature(signature)
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signature

    def der_signature_algorithm(self):
        sha256 = AlgorithmIdentifier({"algorithm": "2.16.840.1.101.3.4.2.1", "parameters": core.Null()})
        if self.kind == "es256":
            return AlgorithmIdentifier({"algorithm": "1.2.840.10045.4.3.2"})
        if self.kind == "ps256":
            mgf1 = AlgorithmIdentifier({"algorithm": "1.2.840.113549.1.1.8", "parameters": sha256})
            params = RsassaPssParams({"hash_algorithm": sha256, "mask_gen_algorithm": mgf1, "salt_length": 32})
            return AlgorithmIdentifier({"algorithm": "1.2.840.113549.1.1.10", "parameters": params})
        return AlgorithmIdentifier({"algorithm": "2.16.840.1.101.3.4.3.18"})


# --- the ASN.1 of docs/sad.md ---


class AlgorithmIdentifier(core.Sequence):
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", core.Any, {"optional": True})]


class RsassaPssParams(core.Sequence):
    _fields = [
        ("hash_algorithm", AlgorithmIdentifier, {"explicit": 0, "optional": True}),
        ("mask_gen_algorithm", AlgorithmIdentifier, {"explicit": 1, "optional": True}),
        ("salt_length", core.Integer, {"explicit": 2, "optional": True}),
        ("trailer_field", core.Integer, {"explicit": 3, "optional": True}),
    ]


class DocumentToSign(core.Sequence):
    _fields = [("label", core.UTF8String), ("hash", core.OctetString)]


class Documents(core.SequenceOf):
    _child_spec = DocumentToSign


class Mode(core.Enumerated):
    _map = {0: "transaction", 1: "seal"}


class AuthMethod(core.Enumerated):
    _map = {0: "device", 1: "otp", 2: "pin", 3: "idp", 4: "renewal"}


class AuthorisationRequest(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("request_id", core.OctetString),
        ("client", core.UTF8String),
        ("subject", core.UTF8String),
        ("key_id", core.UTF8String),
        ("profile_id", core.Integer),
        ("hash_algorithm", AlgorithmIdentifier),
        ("documents", Documents),
        ("num_signatures", core.Integer),
        ("mode", Mode),
        ("description", core.UTF8String, {"explicit": 0, "optional": True}),
        ("created_at", core.GeneralizedTime),
        ("expires_at", core.GeneralizedTime),
    ]


class Hashes(core.SequenceOf):
    _child_spec = core.OctetString


class TbsSignatureActivationData(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("sad_id", core.OctetString),
        ("request_id", core.OctetString),
        ("issuer", core.UTF8String),
        ("subject", core.UTF8String),
        ("audience", core.UTF8String),
        ("key_id", core.UTF8String),
        ("profile_id", core.Integer),
        ("scal", core.Integer),
        ("hash_algorithm", AlgorithmIdentifier),
        ("hashes", Hashes),
        ("num_signatures", core.Integer),
        ("mode", Mode),
        ("auth_method", AuthMethod),
        ("assertion", core.UTF8String, {"explicit": 0, "optional": True}),
        ("issued_at", core.GeneralizedTime),
        ("expires_at", core.GeneralizedTime),
    ]


class SignatureActivationData(core.Sequence):
    _fields = [
        ("tbs", TbsSignatureActivationData),
        ("signature_algorithm", AlgorithmIdentifier),
        ("signature", core.OctetBitString),
    ]


# --- the flow ---


def main():
    server, ca, client_id, client_secret, profile_id, kind = sys.argv[1:7]
    profile_id = int(profile_id)
    api = Api(server, ca)
    client = "Basic " + b64(f"{client_id}:{client_secret}".encode())
    tag = os.urandom(4).hex()
    user, device_id = f"user-{kind}-{tag}", f"phone-{kind}-{tag}"

    # The business application: a user, her signing key.
    api.call("POST", "/api/v1/users", {"user_id": user}, client, expect=201)
    _, key = api.call("POST", f"/api/v1/users/{user}/keys", {"profile_id": profile_id}, client, expect=201)
    signing_key = serialization.load_der_public_key(base64.b64decode(key["public_key"]))

    # 1. Register the device, with its proof of possession.
    device = DeviceKey(kind)
    registration = b"\0".join(
        [b"sam-device-registration-v1", client_id.encode(), user.encode(), device_id.encode(), hashlib.sha256(device.spki).digest()]
    )
    api.call(
        "POST",
        f"/api/v1/users/{user}/devices",
        {
            "device_id": device_id,
            "profile_id": profile_id,
            "public_key": b64(device.spki),
            "algorithm": device.jose,
            "proof": b64(device.sign(registration)),
        },
        client,
        expect=201,
    )

    # The business application asks for a raw signature of a document's digest.
    document_digest = hashlib.sha256(b"the contract, as the user read it").digest()
    _, asked = api.call(
        "POST",
        "/api/v1/authorisations",
        {
            "user_id": user,
            "key_id": key["key_id"],
            "hash_algorithm": "SHA-256",
            "format": "raw",
            "documents": [{"label": "contract.pdf", "digest": b64(document_digest)}],
        },
        client,
        expect=201,
    )
    request_id = asked["request_id"]

    # 2. A device session.
    _, challenge = api.call(
        "POST", "/api/v1/device-sessions/challenge", {"client_id": client_id, "device_id": device_id}, expect=201
    )
    answer = b"\0".join(
        [
            b"sam-device-session-v1",
            client_id.encode(),
            device_id.encode(),
            challenge["challenge_id"].encode(),
            challenge["challenge"].encode(),
        ]
    )
    _, session = api.call(
        "POST",
        "/api/v1/device-sessions",
        {
            "client_id": client_id,
            "device_id": device_id,
            "challenge_id": challenge["challenge_id"],
            "challenge": challenge["challenge"],
            "signature": b64(device.sign(answer)),
        },
        expect=201,
    )
    bearer = "Bearer " + session["token"]

    # 3. What to approve.
    _, pending = api.call("GET", f"/api/v1/devices/{device_id}/pending", auth=bearer, expect=200)
    assert pending["next"] is None, "one request: one page"
    [item] = [r for r in pending["requests"] if r["request_id"] == request_id]
    message = AuthorisationRequest.load(base64.b64decode(item["message"]))
    assert message["request_id"].native.hex() == request_id
    assert message["subject"].native == user and message["key_id"].native == key["key_id"]
    assert message["hash_algorithm"]["algorithm"].dotted == "2.16.840.1.101.3.4.2.1"
    [doc] = message["documents"]
    assert doc["label"].native == "contract.pdf"
    # raw output: the DTBS/R is the document's digest itself; the display list repeats it.
    assert doc["hash"].native == document_digest, "the raw DTBS/R is not the document digest"
    [shown] = item["documents"]
    assert shown["document_digest"] == document_digest.hex() and shown["dtbsr"] == doc["hash"].native.hex(), shown

    # 4. The SAD, in the server's format.
    now = int(time.time())
    expires = int(message["expires_at"].native.timestamp())
    sad_id = os.urandom(16)
    if pending["sad_format"] == "json":
        header = {"alg": device.jose, "typ": "sad+jwt"}
        claims = {
            "jti": sad_id.hex(),
            "request_id": request_id,
            "iss": f"device:{device_id}",
            "sub": message["subject"].native,
            "aud": pending["instance_id"],
            "key_id": message["key_id"].native,
            "profile_id": message["profile_id"].native,
            "scal": 2,
            "hash_algorithm": message["hash_algorithm"]["algorithm"].dotted,
            "hashes": [b64url(d["hash"].native) for d in message["documents"]],
            "num_signatures": message["num_signatures"].native,
            "mode": message["mode"].native,
            "auth_method": "device",
            "iat": now,
            "exp": expires,
        }
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        sad = signing_input + "." + b64url(device.sign_jws(signing_input.encode()))
        body, other = {"sad": sad}, {"sad": b64(b"not this"), "encoding": "der"}
    else:
        tbs = TbsSignatureActivationData(
            {
                "version": 1,
                "sad_id": sad_id,
                "request_id": message["request_id"].native,
                "issuer": f"device:{device_id}",
                "subject": message["subject"].native,
                "audience": pending["instance_id"],
                "key_id": message["key_id"].native,
                "profile_id": message["profile_id"].native,
                "scal": 2,
                "hash_algorithm": AlgorithmIdentifier({"algorithm": message["hash_algorithm"]["algorithm"].dotted}),
                "hashes": [d["hash"].native for d in message["documents"]],
                "num_signatures": message["num_signatures"].native,
                "mode": message["mode"].native,
                "auth_method": "device",
                "issued_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc),
                "expires_at": message["expires_at"].native,
            }
        )
        der = SignatureActivationData(
            {
                "tbs": tbs,
                "signature_algorithm": device.der_signature_algorithm(),
                "signature": device.sign(tbs.dump()),
            }
        ).dump()
        body, other = {"sad": b64(der), "encoding": "der"}, {"sad": "a.b.c", "encoding": "jws"}
    # The other format is refused, naming the one the server takes.
    status, refused = api.call("POST", f"/api/v1/authorisations/{request_id}/sad", other, bearer)
    assert status == 400 and refused["error"] == "invalid_request", (status, refused)
    assert pending["sad_format"] in refused["message"], refused
    api.call("POST", f"/api/v1/authorisations/{request_id}/sad", body, bearer, expect=204)

    # 5. The business application signs; the signature verifies under the key.
    _, signed = api.call("POST", "/api/v1/sign", {"request_id": request_id}, client, expect=200)
    [signature] = [base64.b64decode(s) for s in signed["signatures"]]
    if isinstance(signing_key, ec.EllipticCurvePublicKey):
        signing_key.verify(signature, document_digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    elif isinstance(signing_key, rsa.RSAPublicKey):
        signing_key.verify(signature, document_digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    else:
        signing_key.verify(signature, document_digest)
    # Once.
    status, again = api.call("POST", "/api/v1/sign", {"request_id": request_id}, client)
    assert status == 409, (status, again)
    print(f"{kind} {pending['sad_format']}: enrolled, approved, signed and verified")


if __name__ == "__main__":
    main()
