"""Self-signed TLS certificate for local use (``ablesung start``, browser tests).

The pair lives under ``settings.VAR_DIR / "tls"``: ``cert.pem`` (X.509, PEM) and
``key.pem`` (PKCS#8, PEM, unencrypted, mode 0600 — granian reads PKCS#8 only).
It is valid for ``localhost``, ``127.0.0.1`` and ``::1`` and is reused as long as
it matches its key, covers those names and does not expire within 30 days.

Production installations bring their own certificate (``TLS_CERT_FILE`` /
``TLS_KEY_FILE``) or terminate TLS at a proxy.
"""

import datetime
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"
DNS_NAMES: tuple[str, ...] = ("localhost",)
IP_ADDRESSES: tuple[str, ...] = ("127.0.0.1", "::1")
VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class CertificatePair:
    cert_file: Path
    key_file: Path
    not_valid_after: datetime.datetime
    created: bool


def default_directory() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / "tls"


def ensure_self_signed_certificate(
    directory: Path | None = None, *, now: datetime.datetime | None = None
) -> CertificatePair:
    """Return the certificate pair under ``directory``, creating or renewing it if needed."""
    directory = directory if directory is not None else default_directory()
    now = now or datetime.datetime.now(datetime.UTC)
    cert_file = directory / CERT_NAME
    key_file = directory / KEY_NAME
    existing = _usable_certificate(cert_file, key_file, now)
    if existing is not None:
        _restrict_key(key_file)
        return CertificatePair(cert_file, key_file, existing.not_valid_after_utc, created=False)

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build_certificate(key, now)
    key_pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    # Key first: a reader that sees the new certificate must also find its key.
    _write_atomically(key_file, key_pem, mode=0o600)
    _write_atomically(cert_file, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return CertificatePair(cert_file, key_file, cert.not_valid_after_utc, created=True)


def build_certificate(key: ec.EllipticCurvePrivateKey, now: datetime.datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, DNS_NAMES[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ablesung (selbst signiert)"),
        ]
    )
    public_key = key.public_key()
    san = x509.SubjectAlternativeName(
        [x509.DNSName(host) for host in DNS_NAMES]
        + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in IP_ADDRESSES]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
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
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _usable_certificate(
    cert_file: Path, key_file: Path, now: datetime.datetime
) -> x509.Certificate | None:
    """The existing certificate if it can be served as it is, else None."""
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----"):
        return None  # not PKCS#8
    if cert.not_valid_after_utc - now <= RENEW_BEFORE or cert.not_valid_before_utc > now:
        return None
    if cert.public_key() != key.public_key():
        return None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    names = set(san.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    if not set(DNS_NAMES) <= names or not set(IP_ADDRESSES) <= ips:
        return None
    return cert


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600; the key never exists wider
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _restrict_key(key_file: Path) -> None:
    if key_file.stat().st_mode & 0o077:
        key_file.chmod(0o600)
