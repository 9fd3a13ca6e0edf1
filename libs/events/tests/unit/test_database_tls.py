"""libpq's TLS parameters in a database URL, as our engines take them (the connections
themselves: tests/integration/test_postgres_tls.py)."""

from __future__ import annotations

import ssl

import pytest

from amiable_events.db import create_engine, tls_of


def test_the_tls_parameters_leave_the_url_asyncpg_is_given():
    engine = create_engine("postgresql://u:p@db:5432?sslmode=require&application_name=x", "keys")
    assert engine.url.render_as_string() == (
        "postgresql+asyncpg://u:***@db:5432/keys?application_name=x"
    )


def test_a_full_url_keeps_its_database():
    assert create_engine("postgresql://u:p@db/amiable_keys").url.database == "amiable_keys"


def test_modes_map_to_what_asyncpg_takes():
    assert tls_of({"sslmode": "disable"}) is False
    assert tls_of({}) == "prefer"
    unchecked = tls_of({"sslmode": "require"})
    assert (unchecked.verify_mode, unchecked.check_hostname) == (ssl.CERT_NONE, False)
    full = tls_of({"sslmode": "verify-full", "sslrootcert": "system"})
    assert (full.verify_mode, full.check_hostname) == (ssl.CERT_REQUIRED, True)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("sslmode=verify-full", "sslmode=verify-full needs sslrootcert"),
        ("sslmode=verify-ca&sslrootcert=/nowhere/ca.crt", "sslrootcert=/nowhere/ca.crt"),
        ("sslmode=strict", "sslmode='strict' is not one of"),
        ("sslmode=require&sslcrl=/crl.pem", "unsupported TLS parameters sslcrl"),
    ],
)
def test_a_wrong_tls_setting_stops_the_start_with_its_reason(query, error):
    with pytest.raises(ValueError, match=error):
        create_engine(f"postgresql://u:p@db/keys?{query}")
