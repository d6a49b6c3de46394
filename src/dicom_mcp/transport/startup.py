"""What the operator reads at start-up: one line saying what this process will do."""

from __future__ import annotations

from urllib.parse import urlsplit

from dicom_mcp.settings import Settings


def store_description(url: str) -> str:
    """The session store, without credentials: `memory`, or `redis at host:port/db`."""
    if url.startswith("memory://"):
        return "memory (this process only)"
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 6379}{parts.path or ''}"
    return f"{parts.scheme} at {where}"


def auth_description(settings: Settings) -> str:
    if settings.auth_enabled:
        kinds = [k for k, on in (("API keys", settings.api_keys_file), ("OAuth", settings.oauth_jwks)) if on]
        return " and ".join(kinds)
    if settings.allow_unauthenticated:
        return "NONE, every client that can connect is served"
    return "none, loopback clients only"


def summary(settings: Settings, transport: str) -> str:
    """e.g. `dicom-mcp on http://127.0.0.1:8000/mcp: default PACS ORTHANC@pacs:4242, ...`."""
    where = f"http://{settings.host}:{settings.port}/mcp (and /sse)" if transport == "http" else "stdio"
    return (
        f"dicom-mcp on {where}: default PACS {settings.dicom_called_ae_title}@{settings.dicom_host}:"
        f"{settings.dicom_port} (calling AE {settings.dicom_ae_title}), session store "
        f"{store_description(settings.session_store)}, authentication {auth_description(settings)}"
    )
