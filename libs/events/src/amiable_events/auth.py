"""Bearer JWT authentication: a tenant (the creditor) and scopes, for every platform API."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace

from amiable_events.envelope import REQUEST_ACTOR
from amiable_events.errors import Forbidden, Unauthorized
from amiable_events.inputs import text_error
from amiable_events.logs import CLAIM_ID, TENANT


@dataclass(frozen=True)
class Principal:
    tenant: str
    scopes: frozenset[str]
    subject: str | None = None
    #: The token was issued for the operator audience: cross-tenant admin operations.
    operator: bool = False

    @property
    def actor(self) -> str:
        """Who causes the events of this principal's requests (``ce_actor``): the token's
        subject, or the tenant when the token names none."""
        return self.subject or f"tenant:{self.tenant}"


#: Verified tokens remembered at most (then forgotten all at once, and verified again).
VERIFIED_TOKENS = 10_000


class TokenVerifier:
    """HS256 with a shared secret, or RS256 against a JWKS URL."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        operator_audience: str | None = None,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("a JWT secret or a JWKS URL is required")
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._issuer = issuer
        self._operator_audience = operator_audience
        # A token for either audience is valid; only the operator's may cross tenants.
        audiences = [a for a in (audience, operator_audience) if a]
        self._audience = audiences if audience and operator_audience else audience
        self._verified: dict[str, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token, or :class:`Unauthorized`. A token verified once is
        remembered until it expires: a client sends the same one with every request, and its
        signature check was a tenth of a registration's CPU."""
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        principal, expires = await self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
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
        principal = principal_of(claims)
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience or []
        if self._operator_audience and self._operator_audience in audiences:
            principal = replace(principal, operator=True)
        return principal, float(claims["exp"])


#: A tenant names rows, keys and log records: short printable text.
TENANT_MAX_LENGTH = 100


def principal_of(claims: dict) -> Principal:
    """The principal of verified token claims; a claim of the wrong type or shape is a 401 (a
    signed token is still input)."""
    tenant = claims.get("tenant")
    if (
        not isinstance(tenant, str)
        or not tenant
        or len(tenant) > TENANT_MAX_LENGTH
        or ":" in tenant
        or tenant.strip() != tenant
        or text_error(tenant) is not None
    ):
        raise Unauthorized(
            f"claim 'tenant' must be a string of 1 to {TENANT_MAX_LENGTH} printable characters, "
            "without ':' or surrounding white space"
        )
    scope = claims.get("scope", "")
    if isinstance(scope, str):
        scopes = scope.split()
    elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        scopes = scope
    else:
        raise Unauthorized("claim 'scope' must be a space-separated string or a list of strings")
    subject = claims.get("sub")
    if subject is not None and not isinstance(subject, str):
        raise Unauthorized("claim 'sub' must be a string")
    return Principal(tenant=tenant, scopes=frozenset(scopes), subject=subject)


def issue_token(
    secret: str,
    *,
    tenant: str,
    scopes: list[str],
    ttl_seconds: int = 8 * 3600,
    subject="dev",
    audience: str | None = None,
) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "tenant": tenant,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send 'Authorization: Bearer <JWT>'", title="Missing bearer token")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(credentials.credentials)
    # The events this request causes record who asked (ce_actor); the dependency runs in the
    # request's context, so the command path reads it there.
    REQUEST_ACTOR.set(principal.actor)
    # Likewise the log lines and the request's span name its tenant, and its claim when the
    # path does (a command that registers one names it when it appends: the producer).
    claim_id = request.path_params.get("claim_id")
    TENANT.set(principal.tenant)
    CLAIM_ID.set(claim_id)
    span = trace.get_current_span()
    span.set_attribute("amiable.tenant", principal.tenant)
    if claim_id:
        span.set_attribute("amiable.claim_id", claim_id)
    return principal


def require_scope(scope: str):
    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"this operation needs scope '{scope}'")
        return principal

    dependency.scope = scope  # what a route needs, for the isolation tests to find
    return dependency
