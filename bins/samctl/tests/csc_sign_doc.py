"""CAdES through the CSC API's `signatures/signDoc` (2.2.0.0), written from the CSC
specification and docs/csc.md alone — no sam code. The samctl test
`a_csc_client_signs_cades_documents_with_sign_doc` runs it against samd.

    csc_sign_doc.py CONFIG

CONFIG is a JSON file: {"server", "ca", "pin", "alice", "bob", "ec", "dir", "tsa_ca",
"tsa_pem"} — the server's address and CA file, alice's PIN, access tokens of alice and bob,
alice's SCAL1 ECDSA credential, a directory for files, and the CA and certificate of the
time-stamp authority samd is configured with.

It authorises documents for CAdES with sam's extension fields (`signature_format` C,
`conformance_level` Ades-B-B and Ades-B-T), has them signed by `signDoc` from their digests
(`documentDigests`) and whole (`documents`), and checks every signature with OpenSSL
(`openssl cms -verify` over the document, the signer's chain from `credentials/info`), the
CAdES signed attributes with asn1crypto, and the B-T signature time-stamp with
`openssl ts -verify` over the signature value. Then what must be refused is: a SAD used
twice or for another document, a raw-signature SAD at signDoc and a CAdES SAD at signHash,
another user's token, formats, levels and packagings not made here.

Exit 0 when every step did what the spec and the docs say.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys

from asn1crypto import cms, tsp

from csc_client import ECDSA_SHA256, SHA256, Csc, authorize_body, b64, sign_body


def openssl(*args, data=None):
    done = subprocess.run(["openssl", *args], input=data, capture_output=True)
    assert done.returncode == 0, f"openssl {' '.join(args)}: {done.stderr.decode()}"
    return done.stdout


def authorize(alice, credential, documents, pin, level):
    """A PIN authorisation of `documents`' digests for CAdES at `level`: the SAD."""
    body = authorize_body("v2", credential, [hashlib.sha256(d).digest() for d in documents], pin)
    body["signature_format"] = "C"
    if level:
        body["conformance_level"] = level
    return alice.call("credentials/authorize", body)["SAD"]


def parameters(level=None, envelope="Detached"):
    p = {"signature_format": "C", "signAlgo": ECDSA_SHA256}
    if level:
        p["conformance_level"] = level
    if envelope:
        p["signed_envelope_property"] = envelope
    return p


def sign_doc_body(credential, sad, by_digest=(), whole=(), level=None):
    body = {"credentialID": credential, "SAD": sad}
    if by_digest:
        body["documentDigests"] = [
            {
                "hashes": [b64(hashlib.sha256(d).digest()) for d in by_digest],
                "hashAlgorithmOID": SHA256,
                **parameters(level),
            }
        ]
    if whole:
        body["documents"] = [{"document": b64(d), **parameters(level)} for d in whole]
    return body


def check_cades(config, signature, document, chain_pem, time_stamped):
    """OpenSSL verifies the detached signature over `document`; the signed attributes are
    CAdES-B-B's; a B-T signature carries a time-stamp over its signature value."""
    directory = config["dir"]
    paths = {name: os.path.join(directory, f"signdoc.{name}") for name in ("p7s", "doc", "chain")}
    with open(paths["p7s"], "wb") as f:
        f.write(signature)
    with open(paths["doc"], "wb") as f:
        f.write(document)
    with open(paths["chain"], "w") as f:
        f.write(chain_pem)
    openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", paths["p7s"], "-content",
            paths["doc"], "-CAfile", paths["chain"], "-purpose", "any", "-out", os.devnull)
    info = cms.ContentInfo.load(signature)
    assert info["content_type"].native == "signed_data", info["content_type"].native
    signed = info["content"]
    assert signed["encap_content_info"]["content"].native is None, "detached"
    (signer,) = signed["signer_infos"]
    attributes = {a["type"].native: a["values"] for a in signer["signed_attrs"]}
    assert attributes["message_digest"][0].native == hashlib.sha256(document).digest()
    assert "signing_certificate_v2" in attributes, list(attributes)
    assert "signing_time" in attributes, list(attributes)
    unsigned = signer["unsigned_attrs"]
    stamps = [] if unsigned.native is None else [
        a for a in unsigned if a["type"].native == "signature_time_stamp_token"
    ]
    if not time_stamped:
        assert not stamps, "B-B has no time-stamp"
        return
    assert len(stamps) == 1, unsigned.native
    token = stamps[0]["values"][0]
    tst = token["content"]["encap_content_info"]["content"].parsed
    assert isinstance(tst, tsp.TSTInfo)
    with open(paths["p7s"] + ".tst", "wb") as f:
        f.write(token.dump())
    with open(paths["p7s"] + ".value", "wb") as f:
        f.write(signer["signature"].native)
    openssl("ts", "-verify", "-in", paths["p7s"] + ".tst", "-token_in", "-data",
            paths["p7s"] + ".value", "-CAfile", config["tsa_ca"], "-untrusted", config["tsa_pem"])


def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    server, ca = config["server"], config["ca"]
    info = Csc(server, ca, "v2").call("info", {})
    assert "signatures/signDoc" in info["methods"], info["methods"]
    assert info["signature_formats"] == {"formats": ["C"], "envelope_properties": [["Detached"]]}, info
    assert info["conformance_levels"] == ["Ades-B-B", "Ades-B-T"], info
    assert "conformance_levels" not in Csc(server, ca, "v1").call("info", {})
    alice = Csc(server, ca, "v2", config["alice"])
    bob = Csc(server, ca, "v2", config["bob"])
    pin, ec = config["pin"], config["ec"]
    described = alice.call("credentials/info", {"credentialID": ec, "certificates": "chain"})
    chain_pem = "".join(
        "-----BEGIN CERTIFICATE-----\n" + c + "\n-----END CERTIFICATE-----\n"
        for c in described["cert"]["certificates"]
    )
    contract, annex, terms = b"the contract", b"its annex", b"the terms"

    for level, stamped in ((None, False), ("Ades-B-B", False), ("Ades-B-T", True)):
        # One document by its digest, one whole, under one SAD; the answer in that order.
        sad = authorize(alice, ec, [contract, annex], pin, level)
        body = sign_doc_body(ec, sad, by_digest=[contract], whole=[annex], level=level)
        signed = alice.call("signatures/signDoc", body)
        assert set(signed) == {"SignatureObject"}, signed
        objects = [base64.b64decode(s) for s in signed["SignatureObject"]]
        assert len(objects) == 2, signed
        check_cades(config, objects[0], contract, chain_pem, stamped)
        check_cades(config, objects[1], annex, chain_pem, stamped)
        # Once.
        alice.refused("signatures/signDoc", body, 409)

    # The documents in another order are the same documents; another document is not.
    sad = authorize(alice, ec, [contract, terms], pin, None)
    wrong = sign_doc_body(ec, sad, by_digest=[contract, annex])
    refused = alice.refused("signatures/signDoc", wrong, 400, "invalid_request")
    assert "Hash is not authorized by the SAD" in refused["error_description"], refused
    # Bob cannot use alice's SAD (nor name her credential).
    bob.refused("signatures/signDoc", sign_doc_body(ec, sad, by_digest=[terms, contract]), 404)
    # A CAdES SAD signs no raw hash; a raw SAD makes no CAdES.
    raw = sign_body("v2", ec, sad, [hashlib.sha256(contract).digest(),
                                     hashlib.sha256(terms).digest()], ECDSA_SHA256)
    refused = alice.refused("signatures/signHash", raw, 400, "invalid_request")
    assert "cades-b-b output, not raw" in refused["error_description"], refused
    signed = alice.call("signatures/signDoc", sign_doc_body(ec, sad, by_digest=[terms, contract]))
    check_cades(config, base64.b64decode(signed["SignatureObject"][0]), terms, chain_pem, False)
    raw_sad = alice.call(
        "credentials/authorize",
        authorize_body("v2", ec, [hashlib.sha256(contract).digest()], pin))["SAD"]
    refused = alice.refused("signatures/signDoc", sign_doc_body(ec, raw_sad, by_digest=[contract]),
                            400, "invalid_request")
    assert "raw output, not cades-b-b" in refused["error_description"], refused

    # What this service does not make is refused up front, and nothing is spent.
    sad = authorize(alice, ec, [contract], pin, None)
    base = sign_doc_body(ec, sad, by_digest=[contract])
    for change, status, error in (
        ({"signature_format": "P"}, 400, "invalid_request"),
        ({"signature_format": "X"}, 400, "invalid_request"),
        ({"conformance_level": "Ades-B-LT"}, 400, "invalid_request"),
        ({"conformance_level": "Ades-B-LTA"}, 400, "invalid_request"),
        ({"signed_envelope_property": "Attached"}, 400, "invalid_request"),
        # One SAD, one format: a B-B SAD makes no B-T signature.
        ({"conformance_level": "Ades-B-T"}, 400, "invalid_request"),
        ({"signed_props": [{"attribute_name": "1.2.3", "attribute_value": "AA=="}]}, 400, "invalid_request"),
        ({"signAlgo": "1.2.840.113549.1.1.11"}, 400, "invalid_request"),
        ({"hashAlgorithmOID": "2.16.840.1.101.3.4.2.2"}, 400, "invalid_request"),
    ):
        body = json.loads(json.dumps(base))
        body["documentDigests"][0].update(change)
        alice.refused("signatures/signDoc", body, status, error)
    whole = sign_doc_body(ec, sad, whole=[contract])
    whole["documents"][0].pop("signed_envelope_property")
    alice.refused("signatures/signDoc", whole, 400, "invalid_request")
    for change, status in (
        ({"operationMode": "A"}, 400),
        ({"returnValidationInformation": True}, 400),
        ({"signatureQualifier": "eu_eidas_qes"}, 400),
        ({"documentDigests": []}, 400),
    ):
        alice.refused("signatures/signDoc", {**base, **change}, status)
    not_base64 = json.loads(json.dumps(whole))
    not_base64["documents"][0].update(document="not base64!", signed_envelope_property="Detached")
    alice.refused("signatures/signDoc", not_base64, 400, "invalid_request")
    # Authorising: only CAdES, only at the levels made here; signDoc is a 2.2 call.
    for change in ({"signature_format": "P"}, {"conformance_level": "Ades-LTA"}):
        body = authorize_body("v2", ec, [hashlib.sha256(contract).digest()], pin)
        body.update({"signature_format": "C", **change})
        alice.refused("credentials/authorize", body, 400, "invalid_request")
    v1 = Csc(server, ca, "v1", config["alice"])
    body = authorize_body("v1", ec, [hashlib.sha256(contract).digest()], pin)
    body["signature_format"] = "C"
    v1.refused("credentials/authorize", body, 400, "invalid_request")
    v1.refused("signatures/signDoc", base, 404, "invalid_request")
    # The SAD refused above all along still signs.
    signed = alice.call("signatures/signDoc", base)
    check_cades(config, base64.b64decode(signed["SignatureObject"][0]), contract, chain_pem, False)
    print("signDoc: ok")


if __name__ == "__main__":
    main()
