"""C-GET (instances into memory) and C-MOVE (a study or series to a destination AE) over a Channel.

C-GET: the PACS sends each instance back on the same association as a C-STORE, which we accept
in the SCP role negotiated for its SOP class. One presentation context is proposed per (SOP
class, transfer syntax) pair, uncompressed and the common compressed syntaxes alike, so that a
PACS that cannot transcode still finds a context for what it stores (measured against Orthanc:
one context listing five syntaxes gets one accepted, and compressed instances then fail).
Received instances stay in memory, never on disk, within a byte cap per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import Final

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import build_context, build_role
from pynetdicom.dimse_primitives import C_GET, C_MOVE, C_STORE
from pynetdicom.dsutils import decode
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

from dicom_mcp.dicom import failures
from dicom_mcp.dicom.backend import Moved
from dicom_mcp.dicom.errors import RetrieveTooLarge
from dicom_mcp.dicom.retrievals import STUDY_ROOT_GET, STUDY_ROOT_MOVE, Keys
from dicom_mcp.dicom.scu.association import Channel
from dicom_mcp.dicom.scu.exchange import check_response, context_for, next_message, next_response, syntax_of
from dicom_mcp.dicom.target import Target

STORED_SYNTAXES: Final = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
)
UNCOMPRESSED: Final = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
# DICOM allows 128 presentation contexts per association; one goes to the C-GET model.
MAX_SOP_CLASSES: Final = 127 // len(STORED_SYNTAXES)
_OUT_OF_RESOURCES: Final = 0xA702


@dataclass
class Retrieved:
    """Instances received by one C-GET, decoded, in memory."""

    datasets: list[Dataset] = field(default_factory=list)
    received_bytes: int = 0
    failed: int = 0
    warning: int = 0


def get_contexts(
    sop_classes: Sequence[str],
) -> tuple[list[PresentationContext], list[SCP_SCU_RoleSelectionNegotiation]]:
    """The presentation contexts and SCP roles a C-GET association proposes for `sop_classes`.

    Up to MAX_SOP_CLASSES classes get a context for every stored syntax; more classes (a guess
    at an instance whose class the PACS would not say) get the two uncompressed ones.
    """
    classes = list(dict.fromkeys(sop_classes))
    syntaxes = STORED_SYNTAXES if len(classes) <= MAX_SOP_CLASSES else UNCOMPRESSED
    classes = classes[: 127 // len(syntaxes)]
    contexts = [build_context(STUDY_ROOT_GET)]
    contexts += [build_context(sop, syntax) for sop in classes for syntax in syntaxes]
    return contexts, [build_role(sop, scp_role=True) for sop in classes]


def move_contexts() -> list[PresentationContext]:
    return [build_context(STUDY_ROOT_MOVE, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]


def get(
    channel: Channel, target: Target, keys: Keys, give_up: float, dimse_timeout: float, max_bytes: int
) -> Retrieved:
    """One C-GET; every instance the PACS sends is kept, decoded, until `max_bytes` is passed.

    Raises:
        RetrieveTooLarge: the instances passed `max_bytes` (the C-GET was cancelled).
    """
    assoc = channel.assoc
    context_id, syntax = context_for(assoc, STUDY_ROOT_GET, target)
    request = C_GET()
    request.MessageID, request.AffectedSOPClassUID, request.Priority = 1, STUDY_ROOT_GET, 2
    request.Identifier = BytesIO(keys.encode(syntax))
    assoc.dimse.send_msg(request, context_id)
    got = Retrieved()
    while True:
        store_context, message = next_message(assoc, target, give_up, dimse_timeout, first=not got.datasets)
        if isinstance(message, C_STORE):
            _store(channel, store_context, message, got, max_bytes, context_id)
            continue
        response, status = check_response(message, target, C_GET, 1)
        if status in failures.PENDING:
            continue
        got.failed = int(response.NumberOfFailedSuboperations or 0)
        got.warning = int(response.NumberOfWarningSuboperations or 0)
        if got.received_bytes > max_bytes:
            raise RetrieveTooLarge(
                f"the instances from {target.describe()} passed the cap of {max_bytes} bytes per call "
                "(DICOM_MCP_MAX_RETRIEVE_BYTES); ask for fewer, e.g. one instance"
            )
        failures.check_retrieve_status("C-GET", status, partial_ok=bool(got.datasets))
        return got


def _store(
    channel: Channel, context_id: int, request: C_STORE, got: Retrieved, max_bytes: int, get_context: int
) -> None:
    """Answer one C-STORE of a C-GET: keep the instance, or refuse it once past the cap."""
    assoc = channel.assoc
    data = request.DataSet.getvalue() if request.DataSet is not None else b""
    got.received_bytes += len(data)
    status = 0x0000
    if got.received_bytes > max_bytes:
        status = _OUT_OF_RESOURCES
        assoc.send_c_cancel(1, context_id=get_context)
    else:
        syntax = syntax_of(assoc, context_id) or ExplicitVRLittleEndian
        got.datasets.append(_decoded(data, syntax))
    response = C_STORE()
    response.MessageIDBeingRespondedTo = request.MessageID
    response.AffectedSOPClassUID = request.AffectedSOPClassUID
    response.AffectedSOPInstanceUID = request.AffectedSOPInstanceUID
    response.Status = status
    assoc.dimse.send_msg(response, context_id)


def _decoded(data: bytes, syntax: UID) -> Dataset:
    ds = decode(BytesIO(data), syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    return ds


def move(
    channel: Channel,
    target: Target,
    keys: Keys,
    destination_ae: str,
    give_up: float,
    dimse_timeout: float,
    progress: Callable[[int, int], None] | None = None,
) -> Moved:
    """One C-MOVE of `keys` to `destination_ae`; `progress(done, total)` on each pending response."""
    assoc = channel.assoc
    context_id, syntax = context_for(assoc, STUDY_ROOT_MOVE, target)
    request = C_MOVE()
    request.MessageID, request.AffectedSOPClassUID, request.Priority = 1, STUDY_ROOT_MOVE, 2
    request.MoveDestination = destination_ae
    request.Identifier = BytesIO(keys.encode(syntax))
    assoc.dimse.send_msg(request, context_id)
    first = True
    while True:
        response, status = next_response(assoc, target, give_up, dimse_timeout, C_MOVE, 1, first)
        first = False
        counts = [
            int(getattr(response, f"Number{kind}Suboperations") or 0)
            for kind in ("OfCompleted", "OfFailed", "OfWarning", "OfRemaining")
        ]
        completed, failed, warning, remaining = counts
        if status in failures.PENDING:
            if progress is not None:
                progress(completed + failed + warning, completed + failed + warning + remaining)
            continue
        failures.check_retrieve_status("C-MOVE", status, partial_ok=completed > 0)
        return Moved(completed, failed, warning, status)
