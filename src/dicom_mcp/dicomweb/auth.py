"""Credentials for a DICOMweb node: a bearer token or a basic password, read from files.

A file is read again when it changes (a rotated secret takes effect without a restart), and
its content never appears in a message: a file that cannot be read is named by its role only.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Generator
from pathlib import Path

import httpx

from dicom_mcp.errors import ConfigurationError, CredentialsUnreadable
from dicom_mcp.model.target import WebSettings


class _SecretFile:
    """A file's stripped text, reloaded when its modification time or size changes."""

    def __init__(self, path: Path, role: str, node: str) -> None:
        self._path, self._role, self._node = path, role, node
        self._stamp: tuple[int, int] | None = None
        self._text = ""

    def read(self) -> str:
        try:
            info = self._path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp != self._stamp:
                self._text = self._path.read_text(encoding="utf-8").strip()
                self._stamp = stamp
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialsUnreadable(f"node {self._node!r}: its {self._role} cannot be read") from exc
        if not self._text:
            raise CredentialsUnreadable(f"node {self._node!r}: its {self._role} is empty")
        return self._text


class FileAuth(httpx.Auth):
    """Sets Authorization from the node's token_file (bearer) or username and password_file (basic)."""

    def __init__(self, web: WebSettings, node: str) -> None:
        self._username = web.username
        secret = web.token_file or web.password_file
        role = "token_file" if web.token_file else "password_file"
        self._secret = _SecretFile(secret, role, node) if secret else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._secret is not None:
            secret = self._secret.read()
            if self._username is None:
                request.headers["Authorization"] = f"Bearer {secret}"
            else:
                pair = f"{self._username}:{secret}".encode()
                request.headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        yield request


def tls_context(web: WebSettings, node: str) -> ssl.SSLContext | bool:
    """Certificate checks against the node's ca_file, or httpx's default bundle (certifi)."""
    if web.ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(web.ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"node {node!r}: its ca_file cannot be used as a CA bundle") from exc
