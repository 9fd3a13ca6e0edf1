"""Bearer tokens: HS256 with a shared secret, RS256 against a JWKS URL, and the settings guard."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from amiable_events.auth import TokenVerifier, issue_token
from amiable_events.errors import Unauthorized
from amiable_events.settings import DEV_JWT_SECRET, ServiceSettings

SECRET = "a-long-enough-test-secret-for-hs256-0123456789"


@pytest.fixture(autouse=True)
def _key_encryption_key(monkeypatch):
    """Production settings also need a KEK (test_keywrap.py); these tests are about the JWT."""
    monkeypatch.setenv("AMIABLE_KEY_ENCRYPTION_KEY", base64.b64encode(b"k" * 32).decode())


async def test_a_valid_token_names_the_tenant_and_scopes():
    verifier = TokenVerifier(secret=SECRET)
    principal = await verifier.verify(
        issue_token(SECRET, tenant="acme", scopes=["claims:read", "claims:write"])
    )
    assert principal.tenant == "acme"
    assert principal.scopes == {"claims:read", "claims:write"}


@pytest.mark.parametrize(
    "token",
    [
        issue_token("another-secret-of-the-same-length-0123456789", tenant="acme", scopes=[]),
        issue_token(SECRET, tenant="acme", scopes=[], ttl_seconds=-10),
        jwt.encode({"exp": int(time.time()) + 60, "scope": "x"}, SECRET, algorithm="HS256"),
        jwt.encode({"exp": int(time.time()) + 60, "tenant": "a:b"}, SECRET, algorithm="HS256"),
        jwt.encode({"tenant": "acme"}, SECRET, algorithm="HS256"),
        "not-a-jwt",
    ],
    ids=["wrong-secret", "expired", "no-tenant", "colon-in-tenant", "no-exp", "garbage"],
)
async def test_bad_tokens_are_401(token):
    with pytest.raises(Unauthorized) as problem:
        await TokenVerifier(secret=SECRET).verify(token)
    assert problem.value.status == 401


@pytest.fixture
def jwks_url():
    """A JWKS endpoint on loopback serving one RSA public key, as an identity provider would."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json", key
    finally:
        server.shutdown()
        thread.join(5)


async def test_rs256_tokens_are_checked_against_the_jwks(jwks_url):
    url, key = jwks_url
    claims = {"tenant": "acme", "scope": "claims:read", "exp": int(time.time()) + 60}
    verifier = TokenVerifier(jwks_url=url, audience="amiable", issuer="https://idp.test")
    good = jwt.encode(
        {**claims, "aud": "amiable", "iss": "https://idp.test"},
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    assert (await verifier.verify(good)).tenant == "acme"
    wrong_audience = jwt.encode(
        {**claims, "aud": "other", "iss": "https://idp.test"},
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(Unauthorized):
        await verifier.verify(wrong_audience)
    hs256 = issue_token(SECRET, tenant="acme", scopes=[])
    with pytest.raises(Unauthorized):
        await verifier.verify(hs256)


def test_a_placeholder_secret_is_refused_outside_dev(monkeypatch):
    monkeypatch.delenv("AMIABLE_JWT_SECRET", raising=False)
    assert ServiceSettings(env="dev").jwt_secret == DEV_JWT_SECRET
    with pytest.raises(ValueError, match="AMIABLE_JWT_SECRET"):
        ServiceSettings(env="prod")
    with pytest.raises(ValueError, match="AMIABLE_JWT_SECRET"):
        ServiceSettings(env="prod", jwt_secret="changeme")
    assert ServiceSettings(env="prod", jwks_url="https://idp.test/jwks").jwt_secret is None


def test_production_is_the_default_and_refuses_the_dev_secret(monkeypatch):
    """Issue 7, secrets fail closed: an image started without AMIABLE_ENV is production."""
    monkeypatch.delenv("AMIABLE_ENV", raising=False)
    monkeypatch.delenv("AMIABLE_JWT_SECRET", raising=False)
    monkeypatch.delenv("AMIABLE_JWKS_URL", raising=False)
    with pytest.raises(ValueError, match="AMIABLE_JWT_SECRET"):
        ServiceSettings()
    with pytest.raises(ValueError, match="AMIABLE_JWT_SECRET"):
        ServiceSettings(jwt_secret=DEV_JWT_SECRET)
    assert ServiceSettings(jwt_secret="x" * 32).env == "prod"


@pytest.mark.parametrize("env", ["prod", "test"])
def test_a_short_secret_is_refused_outside_dev(env):
    """Issue 7: a 3-byte production secret was accepted."""
    with pytest.raises(ValueError, match="at least 32 bytes"):
        ServiceSettings(env=env, jwt_secret="abc")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        ServiceSettings(env=env, jwt_secret="é" * 15)  # 30 bytes, 15 characters
    assert ServiceSettings(env=env, jwt_secret="k" * 32).jwt_secret == "k" * 32


@pytest.mark.parametrize(
    ("env", "url", "accepted"),
    [
        ("prod", "http://idp.example/jwks.json", False),
        ("prod", "http://127.0.0.1:8080/jwks.json", False),
        ("prod", "ftp://idp.example/jwks.json", False),
        ("prod", "https://idp.example/jwks.json", True),
        ("test", "http://idp.example/jwks.json", False),
        ("test", "http://127.0.0.1:8080/jwks.json", True),
        ("dev", "http://localhost:8080/jwks.json", True),
    ],
)
def test_a_jwks_url_must_be_https_except_on_loopback_outside_prod(env, url, accepted):
    """Issue 7: an http:// JWKS URL was accepted in prod (its keys could be swapped in transit).
    Tests and dev may serve a JWKS over http on loopback only (the RS256 test does)."""
    if accepted:
        assert ServiceSettings(env=env, jwks_url=url).jwks_url == url
    else:
        with pytest.raises(ValueError, match="AMIABLE_JWKS_URL"):
            ServiceSettings(env=env, jwks_url=url)
