"""The PDF's signature: a PAdES signature (pyHanko) by a key derived from the platform's key.

Why a derived ECDSA P-256 key and not the Ed25519 key itself: PDF readers in common use validate
ECDSA P-256 with SHA-256 signatures (the PAdES baseline), while EdDSA in PDF (ISO 32002) is not
yet validated by many of them. Why derived (HKDF-SHA256 over the Ed25519 private key, with a
label of its own) and not a second key file: nothing new to create, back up, rotate or hand to
each server; the PDF key changes exactly when the platform key does; and a verifier needs only
the platform's Ed25519 public key, because the signed JSON inside the PDF names the PDF key
(the SHA-256 of its SubjectPublicKeyInfo). Its X.509 certificate is self-signed and built the
same way every time (deterministic ECDSA, fixed serial and validity), so every server and every
run presents the same certificate.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from xinyong.domain.errors import InvalidInput

_LABEL = b"xinyong report PDF signing key v1"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
NOT_BEFORE = datetime(2020, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True)
class ReportSigner:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def spki_sha256(self) -> str:
        return spki_sha256(self.certificate)

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def spki_sha256(cert: x509.Certificate) -> str:
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


@cache
def report_signer(platform_key: Ed25519PrivateKey) -> ReportSigner:
    """The PDF signing key and certificate of a platform key (the same for the same key)."""
    seed = platform_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    # 48 bytes reduced modulo n-1, plus one: a scalar in [1, n-1] whose bias is below 2^-128.
    okm = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=_LABEL).derive(seed)
    key = ec.derive_private_key(int.from_bytes(okm, "big") % (_P256_ORDER - 1) + 1, ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "xinyong credit report signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xinyong public credit information platform"),
        ]
    )
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(hashlib.sha256(spki).digest()[:16], "big") >> 1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return ReportSigner(key, cert)


def _pyhanko() -> Any:
    """pyHanko, imported when a PDF is signed or checked (it warns about DSA on import)."""
    from cryptography.utils import CryptographyDeprecationWarning

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign import fields, signers, validation
        from pyhanko_certvalidator import ValidationContext
        from pyhanko_certvalidator.registry import SimpleCertificateStore
    return (
        signers,
        fields,
        IncrementalPdfFileWriter,
        PdfFileReader,
        validation,
        ValidationContext,
        SimpleCertificateStore,
    )


def _asn1(cert: x509.Certificate) -> Any:
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def sign_pdf(pdf: bytes, signer: ReportSigner, *, reason: str) -> bytes:
    """The PDF with an invisible PAdES signature over the whole file, as readers show it."""
    from asn1crypto import keys as asn1_keys

    signers, fields, writer_cls, _, _, _, store_cls = _pyhanko()
    cert = _asn1(signer.certificate)
    key = asn1_keys.PrivateKeyInfo.load(
        signer.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cms = signers.SimpleSigner(signing_cert=cert, signing_key=key, cert_registry=store_cls.from_certs([cert]))
    meta = signers.PdfSignatureMetadata(
        field_name="xinyong-report",
        reason=reason,
        location="xinyong",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    out = signers.sign_pdf(writer_cls(io.BytesIO(pdf)), meta, signer=cms, timestamper=None)
    return bytes(out.getvalue())


def pdf_signer_of(pdf: bytes) -> x509.Certificate:
    """Check the PDF's one signature: intact, valid for its own certificate, covering the whole
    file with nothing added after it. Returns that certificate (the caller checks whose it is).

    Raises:
        InvalidInput: saying what does not hold.
    """
    _, _, _, reader_cls, validation, context_cls, _ = _pyhanko()
    try:
        reader = reader_cls(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - any parse failure of a hostile file is "not a signed PDF"
        raise InvalidInput(f"not a readable PDF: {exc}") from None
    if len(sigs) != 1:
        raise InvalidInput(f"the PDF carries {len(sigs)} signatures; a report carries exactly one")
    sig = sigs[0]
    from asn1crypto import x509 as asn1_x509

    signer_cert: asn1_x509.Certificate = sig.signer_cert
    cert = x509.load_der_x509_certificate(signer_cert.dump())
    try:
        status = validation.validate_pdf_signature(sig, context_cls(trust_roots=[signer_cert]))
    except Exception as exc:  # noqa: BLE001 - a malformed signature is a failed one
        raise InvalidInput(f"the PDF signature cannot be validated: {exc}") from None
    if not status.intact or not status.valid:
        raise InvalidInput("the PDF signature does not match the file: a byte of the signed PDF was changed")
    if status.coverage is None or status.coverage.name != "ENTIRE_FILE":
        raise InvalidInput("the PDF signature does not cover the whole file: something was added after signing")
    return cert
