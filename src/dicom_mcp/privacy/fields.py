"""The service's own result fields, and what each carries for the pseudonymised view's boundary.

Results are JSON whose keys are either DICOM keywords (CamelCase: query matches, header
attributes, ruled by `annex_e`) or the service's own fields (snake_case), ruled here. A field
with no rule is left out of a pseudonymised answer; tests/privacy_units/test_fields_classified.py
holds every tool's output schema against this table, so that a new field is classified before it
ships.

    KEEP         numbers, flags, codes, the service's words (strings are still cleaned)
    TREE         kept whole (attribute presets: keyword lists)
    UID, UIDS    a UID, or a list of them: tokens
    TEXT, DESCRIPTION   free text: cleaned of identities, dates moved
    ISO_DATE     a YYYY-MM-DD date: moved by the patient's offset
    REMOVE       a person's name: never shown
    NEST         an object of service fields
    DICOM        an object (or a list of them) keyed by DICOM keyword
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# The service's own fields (snake_case; DICOM keywords are CamelCase) and what they carry.
KEEP, TREE, UID, UIDS, TEXT, DESCRIPTION, ISO_DATE, REMOVE, NEST, DICOM = (
    "keep", "tree", "uid", "uids", "text", "description", "iso_date", "remove", "nest", "dicom",
)  # fmt: skip
FIELDS: Final[Mapping[str, str]] = {
    **dict.fromkeys(
        (
            "study_instance_uid", "series_instance_uid", "sop_instance_uid", "uid", "sop_class_uid",
        ),
        UID,
    ),
    "remaining": UIDS,
    # transfer_syntax is a name (Explicit VR Little Endian), or a UID pydicom does not know
    **dict.fromkeys(("message", "reason", "description", "sop_class", "transfer_syntax"), TEXT),
    **dict.fromkeys(("title", "series_description"), DESCRIPTION),
    "content_date": ISO_DATE,
    "verifying_observer": REMOVE,
    "presets": TREE,
    **dict.fromkeys(
        (
            "window", "nodes", "series", "thumbnails", "skipped", "frames", "reports", "output_size",
            "rescale", "frame_content",
        ),
        NEST,
    ),
    **dict.fromkeys(("attributes", "matches"), DICOM),
    **dict.fromkeys(
        (
            "level", "node", "called_ae_title", "count", "truncated", "limit", "default",
            "ad_hoc_targets_allowed", "session", "host", "port", "ae_title", "expires_after_idle_seconds",
            "success", "round_trip_ms", "destination", "completed", "failed", "warning", "status",
            "kind", "series_number", "modality", "instances", "rows", "columns", "number_of_frames",
            "frame", "photometric_interpretation", "center", "width", "height", "source", "png_bytes",
            "mime_type", "mimeType", "bytes", "index", "instance_number", "total", "start", "next_start",
            "name", "tls", "move_destination", "protocol", "completion_flag", "verification_flag",
            "intercept", "slope", "type", "stack_id", "in_stack_position", "temporal_position",
            "dimension_index", "steps", "frame_time_ms", "frame_time_source", "note",
        ),
        KEEP,
    ),
}  # fmt: skip
