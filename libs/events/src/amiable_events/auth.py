"""Bearer JWT authentication: a tenant (the creditor) and scopes, for every platform API."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from amiable_events.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Principal:
    tenant: str
    scopes: frozenset[str]
    subject: str | None = None


class TokenVerifier:
    """HS256 with a shared secret, or RS256 against a JWKS URL."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("a JWT secret or a JWKS URL is required")
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._audience = audience
        self._issuer = issuer

    async def verify(self, token: str) -> Principal:
        options = {"require": ["exp", "tenant"], "verify_aud": self._audience is not None}
        try:
            if self._jwks is not None:
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = jwt.decode(
                    token,
                    signing_key.key,
                    algorithms=["RS256"],
                    audience=self._audience,
                    issuer=self._issuer,
                    options=options,
                )
            else:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=self._audience,
                    issuer=self._issuer,
                    options=options,
                )
        except jwt.PyJWTError as exc:
            raise Unauthorized(str(exc)) from exc
        tenant = claims.get("tenant")
        if not isinstance(tenant, str) or not tenant or ":" in tenant:
            raise Unauthorized("claim 'tenant' must be a non-empty string without ':'")
        scope = claims.get("scope", "")
        scopes = scope.split() if isinstance(scope, str) else list(scope)
        return Principal(tenant=tenant, scopes=frozenset(scopes), subject=claims.get("sub"))


def issue_token(
    secret: str, *, tenant: str, scopes: list[str], ttl_seconds: int = 8 * 3600, subject="dev"
) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "tenant": tenant,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send 'Authorization: Bearer <JWT>'", title="Missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(credentials.credentials)


def require_scope(scope: str):
    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"this operation needs scope '{scope}'")
        return principal

    return dependency
