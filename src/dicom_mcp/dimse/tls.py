"""DICOM TLS (PS3.15 annex B): client-side SSL contexts for PACS that require it."""

from __future__ import annotations

import ssl
from functools import lru_cache

from dicom_mcp.errors import TlsSetupError
from dicom_mcp.model.target import Target, TlsSettings


@lru_cache(maxsize=64)
def client_context(settings: TlsSettings) -> ssl.SSLContext:
    """An SSL context verifying the PACS against `ca_file` (or the system CAs), TLS 1.2 or newer.

    Raises:
        TlsSetupError: a CA, certificate or key file is missing, unreadable or invalid.
    """
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TlsSetupError(f"the TLS CA file cannot be used ({_reason(exc)})") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = settings.check_hostname
    if settings.cert_file is not None:
        try:
            context.load_cert_chain(settings.cert_file, settings.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise TlsSetupError(
                f"the TLS client certificate or key cannot be used ({_reason(exc)})"
            ) from None
    return context


def _reason(exc: OSError | ssl.SSLError) -> str:
    """What went wrong, without file contents: the error's kind and, for OS errors, its text."""
    if isinstance(exc, ssl.SSLError):
        return f"SSL error: {exc.reason or 'invalid file'}"
    return exc.strerror or type(exc).__name__


def tls_arguments(target: Target) -> tuple[ssl.SSLContext, str] | None:
    """pynetdicom's `tls_args` for `target`: the context and the name its certificate must carry."""
    if target.tls is None:
        return None
    try:
        context = client_context(target.tls)
    except TlsSetupError as exc:
        raise TlsSetupError(f"{target.describe()}: {exc}") from None
    return context, target.tls.server_name or target.host
