"""DICOM TLS (PS3.15 annex B): client-side SSL contexts for PACS that require it."""

from __future__ import annotations

import ssl
from functools import lru_cache

from dicom_mcp.dicom.target import Target, TlsSettings


@lru_cache(maxsize=64)
def client_context(settings: TlsSettings) -> ssl.SSLContext:
    """An SSL context verifying the PACS against `ca_file` (or the system CAs), TLS 1.2 or newer."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = settings.check_hostname
    if settings.cert_file is not None:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    return context


def tls_arguments(target: Target) -> tuple[ssl.SSLContext, str] | None:
    """pynetdicom's `tls_args` for `target`: the context and the name its certificate must carry."""
    if target.tls is None:
        return None
    return client_context(target.tls), target.tls.server_name or target.host
