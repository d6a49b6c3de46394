"""Parameter types shared by several tools, with the descriptions clients show the model."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

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
    Field(
        description="Most matches to return (the server has a default and a cap); the result's `truncated` "
        "says when the PACS had more.",
        ge=1,
    ),
]
# Wide enough for any real window (float images included); NaN and infinities are refused.
WINDOW_LIMIT = 1e9
WindowCenter = Annotated[
    float | None,
    Field(
        description="VOI window center (e.g. 40 for a CT soft-tissue window); give it with window_width",
        allow_inf_nan=False,
        ge=-WINDOW_LIMIT,
        le=WINDOW_LIMIT,
    ),
]
WindowWidth = Annotated[
    float | None,
    Field(
        description="VOI window width (e.g. 400); give it with window_center",
        allow_inf_nan=False,
        gt=0,
        le=WINDOW_LIMIT,
    ),
]
Preset = Annotated[
    str | None,
    Field(description="Level of detail: minimal, standard (default) or extended.", max_length=32),
]
Additional = Annotated[
    list[str] | None,
    Field(
        description="Extra DICOM attribute keywords to return, of this level or above, e.g. ['PatientBirthDate'].",
        max_length=64,
    ),
]
Exclude = Annotated[
    list[str] | None,
    Field(
        description="DICOM attribute keywords to leave out of the preset's columns, e.g. ['StudyTime'].",
        max_length=64,
    ),
]


def described(fn: Callable[..., Any]) -> str:
    """A tool's description: its docstring without the source's indentation or line wrapping
    (paragraphs stay apart)."""
    paragraphs = inspect.cleandoc(fn.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
