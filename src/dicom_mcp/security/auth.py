"""Who may call: bearer tokens checked as API keys or as OAuth 2.1 JWT access tokens.

Both verifiers implement the MCP SDK's `TokenVerifier`; the SDK's bearer middleware then
answers 401 (with `WWW-Authenticate: Bearer ..., resource_metadata=...`) or 403 for a missing
scope. Tokens are never logged, and never forwarded: the `AccessToken` handed on carries
no token text.

    API keys   DICOM_MCP_API_KEYS_FILE: lines `<principal> <sha256 hex of the token> [permissions]`,
               compared in constant time; permissions are comma-separated scopes (dicom:read,
               dicom:move, dicom:pseudonymised), dicom:read when none are given.
    OAuth      JWTs verified against a JWKS (URL or file), with issuer, audience (RFC 8707
               resource) and expiry checks; the `scope` claim lists granted scopes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import jwt
from mcp.server.auth.provider import AccessToken

from dicom_mcp.errors import AuthConfigError
from dicom_mcp.settings import Settings

logger = logging.getLogger(__name__)

READ_SCOPE = "dicom:read"
MOVE_SCOPE = "dicom:move"
PSEUDONYMISED_SCOPE = "dicom:pseudonymised"  # reads, in the pseudonymised view only
PERMISSIONS = (READ_SCOPE, MOVE_SCOPE, PSEUDONYMISED_SCOPE)
REDACTED = "<redacted>"
_KEY_LINE = re.compile(
    r"^(?P<principal>[A-Za-z0-9._@:-]{1,128})\s+(?P<digest>[0-9a-fA-F]{64})(?:\s+(?P<permissions>[a-z:,]+))?$"
)
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


@dataclass(frozen=True)
class ApiKey:
    principal: str
    digest: bytes
    permissions: tuple[str, ...] = (READ_SCOPE,)


def load_api_keys(path: Path) -> tuple[ApiKey, ...]:
    """Parse an API keys file; blank lines and `#` comments are ignored."""
    keys = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            raise AuthConfigError(f"{path}:{number}: expected '<principal> <sha256 hex> [permissions]'")
        permissions = tuple(match["permissions"].split(",")) if match["permissions"] else (READ_SCOPE,)
        unknown = [p for p in permissions if p not in PERMISSIONS]
        if unknown:
            raise AuthConfigError(
                f"{path}:{number}: unknown permission {unknown[0]!r}; use {', '.join(PERMISSIONS)}"
            )
        keys.append(ApiKey(match["principal"], bytes.fromhex(match["digest"]), with_read(permissions)))
    if not keys:
        raise AuthConfigError(f"{path} holds no API keys")
    return tuple(keys)


def with_read(scopes: tuple[str, ...]) -> tuple[str, ...]:
    """`scopes`, with dicom:read added where dicom:pseudonymised is granted: that is a way of reading."""
    if PSEUDONYMISED_SCOPE in scopes and READ_SCOPE not in scopes:
        return (*scopes, READ_SCOPE)
    return scopes


class ApiKeyVerifier:
    """Accepts tokens whose SHA-256 digest is listed; grants the key's permissions as scopes."""

    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self._keys = tuple(keys)

    async def verify_token(self, token: str) -> AccessToken | None:
        digest = hashlib.sha256(token.encode()).digest()
        found: ApiKey | None = None
        for key in self._keys:  # every entry is compared, so timing does not reveal which matched
            if hmac.compare_digest(digest, key.digest):
                found = key
        if found is None:
            return None
        return AccessToken(
            token=REDACTED, client_id=found.principal, subject=found.principal, scopes=list(found.permissions)
        )


class JwtVerifier:
    """Verifies JWT access tokens: signature (JWKS), issuer, audience, expiry."""

    def __init__(self, jwks: str, issuer: str, audience: str) -> None:
        self._issuer = issuer
        self._audience = audience
        if jwks.startswith(("https://", "http://")):
            self._client: jwt.PyJWKClient | None = jwt.PyJWKClient(
                jwks, cache_keys=True, lifespan=300, timeout=5
            )
            self._keyset: jwt.PyJWKSet | None = None
        else:
            self._client = None
            self._keyset = jwt.PyJWKSet.from_json(Path(jwks).read_text(encoding="utf-8"))

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            key = await self._signing_key(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=_ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            logger.info("bearer token refused: %s", type(exc).__name__)
            return None
        scopes = list(with_read(tuple(str(claims.get("scope", "")).split())))
        return AccessToken(
            token=REDACTED,
            client_id=str(claims.get("client_id") or claims.get("azp") or claims["sub"]),
            subject=str(claims["sub"]),
            scopes=scopes,
            expires_at=int(claims["exp"]),
            resource=self._audience,
            claims={"iss": claims["iss"]},
        )

    async def _signing_key(self, token: str) -> Any:
        if self._client is not None:
            client = self._client
            return (await anyio.to_thread.run_sync(client.get_signing_key_from_jwt, token)).key
        assert self._keyset is not None
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [k for k in self._keyset.keys if kid is None or k.key_id == kid]
        if not keys:
            raise KeyError("no JWKS key matches the token's kid")
        return keys[0].key


class AnyVerifier:
    """Tries each verifier in turn: the first that accepts the token wins."""

    def __init__(self, verifiers: Sequence[ApiKeyVerifier | JwtVerifier]) -> None:
        self._verifiers = tuple(verifiers)

    async def verify_token(self, token: str) -> AccessToken | None:
        for verifier in self._verifiers:
            accepted = await verifier.verify_token(token)
            if accepted is not None:
                return accepted
        return None


def build_verifier(settings: Settings) -> AnyVerifier | None:
    """The token verifier the settings ask for, or None when authentication is off."""
    verifiers: list[ApiKeyVerifier | JwtVerifier] = []
    if settings.api_keys_file is not None:
        verifiers.append(ApiKeyVerifier(load_api_keys(settings.api_keys_file)))
    if settings.oauth_jwks and settings.oauth_issuer:
        audience = settings.oauth_audience or settings.resource_url
        verifiers.append(JwtVerifier(settings.oauth_jwks, settings.oauth_issuer, audience))
    return AnyVerifier(verifiers) if verifiers else None
