"""TLS to PostgreSQL as libpq URLs say it (``sslmode``, ``sslrootcert``), through our engines:
against a PostgreSQL of the test's own with ``ssl=on`` and a certificate for ``localhost``
signed by a CA made here. The shared stack stays without TLS (``sslmode=disable`` works on it).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from amiable_events.db import create_engine
from amiable_events.service import KEYS_DATABASE
from tests.support import eventually, free_port, service_key_store, unique_name

pytestmark = pytest.mark.integration

#: Every connection's own TLS state, as the server sees it.
TLS_IN_USE = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca: Path
    other_ca: Path  # a CA that did not sign the server's certificate

    def url(self, host: str = "localhost", **query: str) -> str:
        params = "&".join(f"{name}={value}" for name, value in query.items())
        return f"postgresql://postgres@{host}:{self.port}/postgres?{params}"


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl)")
    folder = Path(tempfile.mkdtemp(prefix="amiable-pg-tls-"))
    try:
        ca = _write_ca_and_server_certificate(folder)
        other_ca = _write_ca_and_server_certificate(folder / "other")
        data, port = folder / "data", free_port()
        if os.geteuid() == 0:  # initdb and postgres refuse root
            for path in [folder, *folder.rglob("*")]:
                shutil.chown(path, "postgres", "postgres")
        _as_postgres(pg_bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
        # TLS only: a plain connection to this server is refused.
        (data / "pg_hba.conf").write_text(
            "hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n"
        )
        options = (
            f"-p {port} -k {folder} -c listen_addresses=localhost -c ssl=on "
            f"-c ssl_cert_file={folder / 'server.crt'} -c ssl_key_file={folder / 'server.key'} "
            "-c fsync=off"
        )
        _as_postgres(
            pg_bin / "pg_ctl", "start", "-w", "-t", "20", "-D", data, "-o", options,
            "-l", folder / "postgres.log",
        )  # fmt: skip
        try:
            yield TlsServer(port, ca, other_ca)
        finally:
            _as_postgres(pg_bin / "pg_ctl", "stop", "-m", "immediate", "-D", data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_verify_full_with_the_right_ca_connects_over_tls(tls_server):
    engine = create_engine(tls_server.url(sslmode="verify-full", sslrootcert=tls_server.ca))
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text(TLS_IN_USE)) is True
    finally:
        await engine.dispose()


async def test_verify_full_with_a_wrong_ca_fails_on_the_certificate(tls_server):
    engine = create_engine(tls_server.url(sslmode="verify-full", sslrootcert=tls_server.other_ca))
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()


async def test_verify_full_checks_the_host_name_and_verify_ca_does_not(tls_server):
    """The certificate names localhost, not 127.0.0.1."""
    by_address = {"host": "127.0.0.1", "sslrootcert": tls_server.ca}
    full = create_engine(tls_server.url(sslmode="verify-full", **by_address))
    chain_only = create_engine(tls_server.url(sslmode="verify-ca", **by_address))
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
            async with full.connect():
                pass
        async with chain_only.connect() as conn:
            assert await conn.scalar(text(TLS_IN_USE)) is True
    finally:
        await full.dispose()
        await chain_only.dispose()


async def test_require_encrypts_without_checking_and_disable_is_refused_here(tls_server):
    required = create_engine(tls_server.url(sslmode="require"))
    plain = create_engine(tls_server.url(sslmode="disable"))
    try:
        async with required.connect() as conn:
            assert await conn.scalar(text(TLS_IN_USE)) is True
        with pytest.raises(DBAPIError, match=r"no pg_hba\.conf entry .* no encryption"):
            async with plain.connect():
                pass
    finally:
        await required.dispose()
        await plain.dispose()


async def test_the_key_store_and_its_erasure_listener_run_over_verify_full(tls_server):
    """The LISTEN connection is an asyncpg connection under the engine's pool: TLS too."""
    url = tls_server.url(sslmode="verify-full", sslrootcert=tls_server.ca)
    engine = create_engine(url, pool_size=2)
    store = service_key_store(engine, ttl=3600)
    await store.create_schema()
    await store.listen()
    try:
        await eventually(lambda: store._listening, timeout=10)
        account = f"{unique_name('tls')}:D1"
        key = await store.get_or_create(account)
        assert await store.get(account) == key
        async with engine.connect() as conn:
            plain = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) "
                    "WHERE datname = 'postgres' AND backend_type = 'client backend' AND NOT ssl"
                )
            )
            listening = await conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")
            )
        assert (plain, listening) == (0, 1)
    finally:
        await store.stop()
        await engine.dispose()


async def test_sslmode_disable_still_works_on_the_shared_stack(infra):
    engine = create_engine(f"{infra.database_url}?sslmode=disable", KEYS_DATABASE, pool_size=1)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text(TLS_IN_USE)) is False
    finally:
        await engine.dispose()


def _pg_bin() -> Path | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_postgres(*command: object) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *map(str, command)], check=True, capture_output=True, timeout=30)


def _write_ca_and_server_certificate(folder: Path) -> Path:
    """A CA, and the server's key and certificate for localhost signed by it, in ``folder``;
    the path of the CA's certificate."""
    folder.mkdir(exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"amiable test CA {folder}")])
    ca = (
        _certificate(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    server = (
        _certificate(server_name, ca_name, server_key.public_key(), now)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_usage(cert_sign=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.crt").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file = folder / "server.key"
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)  # PostgreSQL refuses a key others can read
    return folder / "ca.crt"


def _certificate(subject, issuer, public_key, now: dt.datetime) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
