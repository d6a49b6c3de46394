"""Store the sample data set into a PACS by C-STORE: `python -m dicom_mcp.demo.load --host H ...`.

For `deploy/docker-compose.yml`: its Orthanc gets the instances `--demo` serves, generated in
memory (`sample_datasets()`), so that a first session there finds the same patients. Nothing
is written to disk. Storing again is harmless where the PACS keeps one copy per SOP Instance
UID, as Orthanc does.

One association, one presentation context per (SOP class, transfer syntax) pair: each class in
the syntaxes its instances are stored in (RLE and JPEG-LS among them), and uncompressed; an
instance goes decompressed only where the PACS refuses its stored syntax. Every C-STORE status
is checked.
The association is opened through `dicom/scu/` (retries, failures in words); the stores use
pynetdicom on it directly, as the rest of this package may.

Exit status 0 when every instance was stored, 1 with one line saying why not. It logs counts,
never a patient's name or ID.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom import build_context
from pynetdicom.presentation import PresentationContext

from dicom_mcp.demo.data import sample_datasets
from dicom_mcp.demo.sending import UNCOMPRESSED, sendable
from dicom_mcp.dimse.failures import describe_status
from dicom_mcp.dimse.reactor import configure_pynetdicom
from dicom_mcp.dimse.scu import VERIFICATION, Channel, associate, build_ae, close
from dicom_mcp.errors import AssociationAborted, PacsError, PacsTimeout, PacsUnreachable, StoreFailed
from dicom_mcp.model.target import Target

logger = logging.getLogger(__name__)

PROGRAM: Final = "python -m dicom_mcp.demo.load"
CALLING_AE: Final = "MCPLOAD"
POLL: Final = 0.5  # seconds between attempts while the PACS is not yet listening
CONNECT, ACSE, DIMSE, NETWORK = 5.0, 30.0, 60.0, 120.0
# A PACS still starting refuses the connection, or accepts it and drops or ignores the request.
NOT_READY: Final = (PacsUnreachable, AssociationAborted, PacsTimeout)
WARNINGS: Final = range(0xB000, 0xC000)  # stored, with coercion or elements discarded (PS3.4 B.2.3)


@dataclass(frozen=True)
class Stored:
    """What one load stored: instances, and how many of them were stored with a warning."""

    instances: int
    warnings: int


def storage_contexts(datasets: Sequence[Dataset]) -> list[PresentationContext]:
    """One context per SOP class and transfer syntax its instances are in, plus both uncompressed ones.

    Verification too: a PACS that takes none of the storage classes still accepts the
    association then, and the failure can name the classes it refused.
    """
    pairs = {(str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)) for ds in datasets}
    # Both uncompressed syntaxes, each its own context: a receiver that takes only the default
    # (Implicit VR) still gets every instance, and one that takes the stored syntax gets it as stored.
    pairs |= {(sop_class, str(plain)) for sop_class, _ in pairs for plain in UNCOMPRESSED}
    storage = [build_context(sop_class, syntax) for sop_class, syntax in sorted(pairs)]
    return [build_context(VERIFICATION), *storage]


def load(datasets: Sequence[Dataset], target: Target, calling_ae: str, wait: float) -> Stored:
    """Store every instance on one association, waiting up to `wait` seconds for the PACS to accept it.

    Raises:
        PacsError: no association within `wait` (the last attempt's failure), or `StoreFailed`.
    """
    channel = _associate_when_ready(target, calling_ae, storage_contexts(datasets), wait)
    try:
        stored = _store_all(channel, datasets, target)
    except BaseException:
        close(channel, graceful=False)
        raise
    close(channel, graceful=True)
    return stored


def _associate_when_ready(
    target: Target, calling_ae: str, contexts: list[PresentationContext], wait: float
) -> Channel:
    give_up = time.monotonic() + wait
    while True:
        ae = build_ae(calling_ae, connect=CONNECT, acse=ACSE, dimse=DIMSE, network=NETWORK)
        try:
            return associate(ae, target, give_up, contexts)
        except socket.gaierror as exc:  # pynetdicom resolves the name itself, before its connection handling
            failure: PacsError = PacsUnreachable(f"could not resolve the host name of {target.describe()}")
            cause: Exception = exc
        except NOT_READY as exc:
            failure = cause = exc
        if time.monotonic() + POLL >= give_up:
            waited = f" (waited {wait:g} s)" if wait > 0 else ""
            raise type(failure)(f"{failure}{waited}") from cause
        time.sleep(POLL)


def _store_all(channel: Channel, datasets: Sequence[Dataset], target: Target) -> Stored:
    accepted: dict[str, set[UID]] = {}
    for context in channel.assoc.accepted_contexts:
        accepted.setdefault(str(context.abstract_syntax), set()).add(UID(context.transfer_syntax[0]))
    refused = sorted({str(ds.SOPClassUID) for ds in datasets} - set(accepted))
    if refused:
        names = ", ".join(UID(sop_class).name for sop_class in refused)
        raise StoreFailed(f"{target.describe()} accepted no presentation context for {names}")
    warnings = 0
    for number, ds in enumerate(datasets, start=1):
        status = channel.assoc.send_c_store(sendable(ds, accepted[str(ds.SOPClassUID)]), msg_id=number)
        if not status:  # pynetdicom's empty Dataset: no response in time, or the association ended
            raise StoreFailed(
                f"{target.describe()} stopped answering at instance {number} of {len(datasets)}"
            )
        code = int(status.Status)
        if code in WARNINGS:
            warnings += 1
        elif code != 0x0000:
            raise StoreFailed(
                f"{target.describe()} refused instance {number} of {len(datasets)} "
                f"({UID(str(ds.SOPClassUID)).name}): C-STORE status 0x{code:04X} ({describe_status(code)})"
            )
    return Stored(len(datasets), warnings)


def _counts(datasets: Sequence[Dataset]) -> str:
    patients, studies, series = (
        len({str(ds.get(keyword, "")) for ds in datasets})
        for keyword in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID")
    )
    return f"{patients} patients, {studies} studies, {series} series"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Store dicom-mcp's sample data set (that of --demo) into a PACS by C-STORE."
    )
    parser.add_argument("--host", required=True, help="the PACS's host name or address")
    parser.add_argument("--port", required=True, type=int, help="its DICOM port")
    parser.add_argument("--called-ae", required=True, help="its AE title")
    parser.add_argument("--calling-ae", default=CALLING_AE, help=f"ours (default {CALLING_AE})")
    parser.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="how long to wait for the PACS (default 0)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be 1-65535, not {args.port}")
    for flag, title in (("--called-ae", args.called_ae), ("--calling-ae", args.calling_ae)):
        if not 0 < len(title) <= 16 or not title.isascii() or "\\" in title:
            parser.error(f"{flag} must be 1-16 ASCII characters without a backslash")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, generate the data set, store it; 0 on success, 1 with one line on failure."""
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    configure_pynetdicom()
    # pynetdicom logs each failed connection attempt; the one line below says what went wrong.
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    started = time.monotonic()
    datasets = sample_datasets()  # before waiting: the PACS may still be starting meanwhile
    target = Target(args.host, args.port, args.called_ae)
    try:
        stored = load(datasets, target, args.calling_ae, args.wait)
    except PacsError as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 1
    logger.info(
        "stored %d instances (%s; %d with a warning) into %s in %.1f s",
        stored.instances,
        _counts(datasets),
        stored.warnings,
        target.describe(),
        time.monotonic() - started,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
