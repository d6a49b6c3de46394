"""The structured results the tools return, each the source of its tool's output schema.

`tools/list` publishes each field's name and type (schemas.py); the descriptions here document
the result for readers of this code and of the full schema. A field several results share is
written once, below.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

Host = Annotated[str | None, Field(description="The PACS's address; null when the operator keeps it hidden")]
Port = Annotated[
    int | None, Field(description="The PACS's DICOM port; null when the operator keeps it hidden")
]
NodeName = Annotated[
    str | None,
    Field(description="The operator's name for the PACS; null for a host and port the caller gave"),
]


class ConfigureResult(BaseModel):
    """What `configure_dicom_server` stored."""

    session: str = Field(description="Handle to pass as `session` to later DICOM tool calls")
    host: Host
    port: Port
    ae_title: str = Field(description="The called AE title of the PACS")
    node: NodeName = None
    expires_after_idle_seconds: int
    message: str


class EchoResult(BaseModel):
    """Outcome of a C-ECHO."""

    success: bool
    host: Host
    port: Port
    ae_title: str
    node: NodeName = None
    round_trip_ms: float | None = None
    message: str


class QueryResult(BaseModel):
    """Matches of one C-FIND."""

    level: str
    node: NodeName
    called_ae_title: str = Field(description="The AE title of the PACS that answered")
    count: int = Field(description="Number of matches returned")
    truncated: bool = Field(description="True when the PACS had more matches than `limit`")
    limit: int
    matches: list[dict[str, Any]] = Field(description="One object per match, keyed by DICOM keyword")


class PresetsResult(BaseModel):
    """Attribute presets by query level."""

    default: str
    presets: dict[str, dict[str, list[str]]] = Field(description="level -> preset name -> DICOM keywords")


class NodeInfo(BaseModel):
    """One PACS the operator has named."""

    name: str
    description: str
    ae_title: str
    host: Host = None
    port: Port = None
    tls: bool
    move_destination: bool = Field(False, description="Whether move_study and move_series may send here")
    protocol: str = Field(
        "dimse", description="dimse (DICOM networking) or dicomweb (QIDO-RS and WADO-RS; no move_study)"
    )


class NodesResult(BaseModel):
    """The PACS callers may choose by name, and whether ad-hoc targets are possible."""

    default: str = Field(description="The node used when no session is configured")
    nodes: list[NodeInfo]
    ad_hoc_targets_allowed: bool = Field(description="Whether configure_dicom_server accepts host and port")


class InstanceHeader(BaseModel):
    """One instance's header, bulk data summarised."""

    sop_instance_uid: str | None
    sop_class_uid: str | None
    sop_class: str | None = Field(description="The SOP class's name, e.g. CT Image Storage")
    transfer_syntax: str | None = Field(description="The transfer syntax the instance arrived in")
    attributes: dict[str, Any] = Field(
        description="Keyword -> value; private elements as '(gggg,eeee)'; bulk data as a note of its size"
    )
    truncated: bool = Field(False, description="True when the header was cut at the server's size limit")
    note: str | None = Field(None, description="What was not retrieved (pixel data of a large instance)")


class Report(BaseModel):
    """One report of a study, as text."""

    sop_instance_uid: str | None
    series_instance_uid: str | None
    kind: str = Field(description="sr (structured report), pdf, cda, or unreadable (`text` says why)")
    title: str | None = None
    content_date: str | None = None
    completion_flag: str | None = None
    verification_flag: str | None = None
    verifying_observer: str | None = None
    text: str | None = Field(description="An SR as an indented outline; a PDF's or CDA's text")
    truncated: bool = Field(description="True when the text was cut at the server's limit")


class ReportsResult(BaseModel):
    """A study's reports; an empty list when it has none."""

    study_instance_uid: str
    reports: list[Report]


class MoveResult(BaseModel):
    """Outcome of a C-MOVE to a registered destination."""

    destination: str
    completed: int = Field(description="Instances the PACS sent to the destination")
    failed: int
    warning: int
    status: str = Field(description="The final DIMSE status, e.g. 0x0000 (success)")
