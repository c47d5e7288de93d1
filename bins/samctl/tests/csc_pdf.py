"""A PDF signed through sam's CSC API 1.0.4.0 by a CSC-speaking PDF signer from PyPI: pyHanko's
`CSCSigner` (pyhanko.sign.signers.csc_signer), unchanged. The only code here is what pyHanko
leaves to its user: how the user authorises (`credentials/authorize` with the hashes and her
PIN, as pyHanko's `CSCAuthorizationManager` documents) and a one-page PDF to sign. The samctl
test `a_pdf_signer_from_pypi_signs_through_csc_v1` runs it against samd, then has poppler's
`pdfsig` check the result independently.

    csc_pdf.py CONFIG OUT

CONFIG is a JSON file: {"server", "ca", "token", "credential", "pin"}. OUT is where the signed
PDF is written. pyHanko's own validator must find the signature intact, valid and trusted
(the development CA as the trust root); exit 0 then.
"""

import asyncio
import io
import json
import ssl
import sys

import aiohttp
from asn1crypto import pem, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationManager,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


class PinAuthorization(CSCAuthorizationManager):
    """The user authorises each batch of hashes with her PIN (SCAL1)."""

    def __init__(self, session_info, credential_info, session, pin):
        super().__init__(session_info, credential_info)
        self.session = session
        self.pin = pin

    async def authorize_signature(self, hash_b64s):
        body = self.format_csc_auth_request(
            pin=self.pin, hash_b64s=hash_b64s, description="Contract signed with pyHanko"
        )
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        async with self.session.post(
            url, headers=self.auth_headers, json=body, raise_for_status=True
        ) as response:
            return self.parse_csc_auth_response(await response.json())


def one_page_pdf():
    writer = PdfFileWriter(stream_xrefs=False)
    font = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
                generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
            }
        )
    )
    contents = writer.add_object(
        generic.StreamObject(
            stream_data=b"BT /F1 14 Tf 72 760 Td (A contract, signed through the CSC API.) Tj ET"
        )
    )
    resources = generic.DictionaryObject(
        {generic.pdf_name("/Font"): generic.DictionaryObject({generic.pdf_name("/F1"): font})}
    )
    writer.insert_page(PageObject(contents=contents, media_box=(0, 0, 595, 842), resources=resources))
    out = io.BytesIO()
    writer.write(out)
    out.seek(0)
    return out


async def main(config, out_path):
    context = ssl.create_default_context(cafile=config["ca"])
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        session_info = CSCServiceSessionInfo(
            service_url=f"https://{config['server']}",
            credential_id=config["credential"],
            oauth_token=config["token"],
            api_ver="v1",
        )
        credential_info = await fetch_certs_in_csc_credential(session, session_info)
        signer = CSCSigner(
            session, PinAuthorization(session_info, credential_info, session, config["pin"])
        )
        metadata = signers.PdfSignatureMetadata(
            field_name="Signature",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason="Agreed",
        )
        signed = await signers.async_sign_pdf(
            IncrementalPdfFileWriter(one_page_pdf()), metadata, signer=signer
        )
    data = signed.getvalue()
    with open(out_path, "wb") as f:
        f.write(data)

    with open(config["ca"], "rb") as f:
        _, _, der = pem.unarmor(f.read())
    validation = ValidationContext(trust_roots=[x509.Certificate.load(der)])
    reader = PdfFileReader(io.BytesIO(data))
    [embedded] = reader.embedded_signatures
    status = await async_validate_pdf_signature(embedded, validation)
    assert status.intact and status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.signing_cert.subject.native["common_name"] == "pdf", status.signing_cert.subject.native
    print("pyHanko: signed and validated")


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        asyncio.run(main(json.load(f), sys.argv[2]))
