"""The structured results the tools return (each becomes the tool's output schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ConfigureResult(BaseModel):
    """What `configure_dicom_server` stored."""

    session: str = Field(description="Handle to pass as `session` to later DICOM tool calls")
    host: str
    port: int
    ae_title: str = Field(description="The called AE title of the PACS")
    expires_after_idle_seconds: int
    message: str


class EchoResult(BaseModel):
    """Outcome of a C-ECHO."""

    success: bool
    host: str
    port: int
    ae_title: str
    round_trip_ms: float | None = None
    message: str


class QueryResult(BaseModel):
    """Matches of one C-FIND."""

    level: str
    count: int = Field(description="Number of matches returned")
    truncated: bool = Field(description="True when the PACS had more matches than `limit`")
    limit: int
    matches: list[dict[str, Any]] = Field(description="One object per match, keyed by DICOM keyword")


class PresetsResult(BaseModel):
    """Attribute presets by query level."""

    default: str
    presets: dict[str, dict[str, list[str]]] = Field(description="level -> preset name -> DICOM keywords")
