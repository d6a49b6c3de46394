"""Parameter types shared by several tools, with the descriptions clients show the model."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Session = Annotated[
    str | None,
    Field(
        description="Session handle returned by configure_dicom_server. Omit to use this connection's "
        "configuration, or the server's default PACS.",
        max_length=256,
    ),
]
Limit = Annotated[
    int | None,
    Field(description="Maximum number of matches to return (the server caps it).", ge=1),
]
Preset = Annotated[
    str | None,
    Field(description="Level of detail: minimal, standard (default) or extended.", max_length=32),
]
Keywords = Annotated[
    list[str] | None,
    Field(description="DICOM attribute keywords, e.g. ['PatientBirthDate'].", max_length=64),
]
