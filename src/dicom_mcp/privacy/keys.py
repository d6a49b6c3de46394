"""The operator's pseudonym secret, and the key each principal's tokens are made under.

Each principal gets its own key, HKDF-SHA256 (RFC 5869) of the secret with the principal as
`info`: the same original gives the same token to the same principal on every replica and after
a restart, and unrelated tokens to two principals, who therefore cannot pool what they learn.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path
from typing import Final

from dicom_mcp.errors import ConfigurationError
from dicom_mcp.privacy.pseudonyms import Pseudonymiser

MIN_SECRET_BYTES: Final = 32
_SALT: Final = b"dicom-mcp pseudonyms v1"


class PseudonymKeys:
    """Per-principal pseudonymisers under one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"the pseudonym key must hold at least {MIN_SECRET_BYTES} bytes")
        self._prk = hmac.new(_SALT, secret, hashlib.sha256).digest()  # HKDF-Extract
        self.for_principal = lru_cache(maxsize=1024)(self._derive)

    def _derive(self, principal: str) -> Pseudonymiser:
        # HKDF-Expand with one block: T(1) = HMAC(PRK, info || 0x01)
        key = hmac.new(self._prk, principal.encode() + b"\x01", hashlib.sha256).digest()
        return Pseudonymiser(key)


def load_keys(path: Path) -> PseudonymKeys:
    """The secret in `path`: its bytes, a trailing line end left out when 32 bytes remain.

    Raises:
        ConfigurationError: the file cannot be read or is too short.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"DICOM_MCP_PSEUDONYM_KEY_FILE cannot be read: {exc.strerror}") from None
    # A text secret's line end is not part of it; a random one may end in a newline byte itself.
    stripped = raw.rstrip(b"\r\n")
    secret = stripped if len(stripped) >= MIN_SECRET_BYTES else raw
    try:
        return PseudonymKeys(secret)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"DICOM_MCP_PSEUDONYM_KEY_FILE: {exc} (make one with: head -c 32 /dev/urandom > FILE)"
        ) from None
