"""Test credentials: API key files and an OAuth issuer (RSA key, JWKS file, token minting)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://login.hospital.example"


def write_api_keys(path: Path, keys: dict[str, str]) -> Path:
    """Write `principal sha256(token)` lines for {principal: token}."""
    lines = ["# principal sha256-of-token"]
    lines += [
        f"{principal} {hashlib.sha256(token.encode()).hexdigest()}" for principal, token in keys.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Issuer:
    """An OAuth authorization server stand-in: signs JWT access tokens with its RSA key."""

    key: rsa.RSAPrivateKey
    kid: str = "test-key-1"
    issuer: str = ISSUER

    @classmethod
    def create(cls) -> Issuer:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def write_jwks(self, path: Path) -> Path:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="RS256")
        path.write_text(json.dumps({"keys": [public]}))
        return path

    def token(
        self,
        subject: str,
        audience: str,
        scope: str = "dicom:read",
        lifetime: float = 300,
        key: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "scope": scope,
            "iat": now,
            "exp": now + int(lifetime),
            "client_id": "claude",
            **claims,
        }
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.kid})
