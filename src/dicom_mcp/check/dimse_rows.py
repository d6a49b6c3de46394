"""A DIMSE node's row: reach it (`reach.py`), probe it (`dimse/probe.py`), and judge what it showed.

What the service needs of a PACS it queries and reads: an association for its calling AE title,
C-ECHO (verify_connection), C-FIND at the Patient Root's PATIENT level and the Study Root's STUDY,
SERIES and IMAGE levels, and a way to read instances: C-GET, or C-MOVE to its receiver, as the
node's `retrieve` says. A node marked `move_destination` may be a plain storage SCP: its C-FIND
and retrieval cells only warn.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from dicom_mcp.check.cells import Cell, Row, Status, millis, no_answer, skipped
from dicom_mcp.check.reach import reach
from dicom_mcp.dimse.probe import LEVELS, SERVICES, DimseProbe, Step, probe
from dicom_mcp.dimse.tls import tls_arguments
from dicom_mcp.model.levels import WIRE_LEVEL, Level
from dicom_mcp.model.target import Target

STEPS: Final = ("association", "echo", "patient_root", "study_root", "c_get", "c_move")
NEEDED: Final = {"patient": (Level.PATIENT,), "study": (Level.STUDY, Level.SERIES, Level.INSTANCE)}
SHORT: Final = {Level.PATIENT: "PAT", Level.STUDY: "STU", Level.SERIES: "SER", Level.INSTANCE: "IMG"}
READING: Final = "docs/users/reading.md: PACS without C-GET"
_NO_ANSWER: Final = "no answer"
_TEXT: Final = {
    "refused": "refused",
    "not offered": "not offered",
    "failed": "failed",
    "no answer": _NO_ANSWER,
}


def dimse_row(target: Target, calling_ae: str, timeout: float, move_to: str | None, destination: bool) -> Row:
    """Check one DIMSE node. Blocking: run it in a worker thread.

    `move_to`: the receiver's AE title (None: no receiver); `destination`: a move destination node.
    """
    reached = reach(target.host, target.port, lambda: tls_arguments(target), timeout)
    cells = dict(reached.cells)
    if reached.address is None:
        why = f"not tried: {reached.failed or 'tls'} failed"
        cells.update({step: skipped(why) for step in STEPS})
    else:
        probed = probe(_dialled(target, reached.address), calling_ae, timeout, move_to)
        cells.update(judged(probed, target, timeout, move_to, destination))
    return Row(target.name or "default", "dimse", f"{target.ae_title}@{target.host}:{target.port}", cells)


def _dialled(target: Target, address: str) -> Target:
    """`target` at the address already resolved (no second, unbounded look-up); TLS still checks the name."""
    tls = target.tls and replace(target.tls, server_name=target.tls.server_name or target.host)
    return replace(target, host=address, tls=tls)


def judged(
    probed: DimseProbe, target: Target, timeout: float, move_to: str | None, destination: bool
) -> dict[str, Cell]:
    """The cells of a probe's steps, judged by what the node's configuration needs."""
    association = probed.association
    if not association.answered:
        text = {"refused": "rejected", "no answer": no_answer(timeout)}.get(association.outcome, "failed")
        cells = {"association": Cell("failed", text, association.words)}
        cells.update({step: skipped("not tried: no association") for step in STEPS[1:]})
        return cells
    services = [name for uid, name in SERVICES.items() if uid in probed.offered]
    shortfall: Status = "warning" if destination else "failed"
    return {
        "association": Cell(
            "ok", "accepted", association.words, {"offered": services, "ms": association.millis}
        ),
        "echo": _step_cell(probed.echo, timeout, "failed"),
        "patient_root": _root_cell(probed, "patient", timeout, shortfall),
        "study_root": _root_cell(probed, "study", timeout, shortfall),
        **_retrieval_cells(probed, target.retrieve, move_to, timeout, shortfall),
    }


def _step_cell(step: Step, timeout: float, shortfall: Status) -> Cell:
    """A step that either works (its round trip) or does not (`shortfall`: how much that matters)."""
    if step.answered:
        return Cell("ok", millis(step.millis or 0.0), step.words, step.millis)
    if step.outcome == "not tried":
        return skipped(step.words)
    text = _TEXT.get(step.outcome, step.outcome).replace(_NO_ANSWER, no_answer(timeout))
    return Cell(shortfall, text, step.words)


def _root_cell(probed: DimseProbe, root: str, timeout: float, shortfall: Status) -> Cell:
    """Which levels of one root answer a C-FIND of nothing; the service needs those in NEEDED."""
    steps = {level: probed.finds[(root, level)] for level in LEVELS[root] if (root, level) in probed.finds}
    answering = [level for level, step in steps.items() if step.answered]
    value = {WIRE_LEVEL[level]: step.outcome for level, step in steps.items()}
    if steps and all(step.outcome == "not offered" for step in steps.values()):
        text, words = "not offered", next(iter(steps.values())).words
    elif steps and all(step.outcome == "not tried" for step in steps.values()):
        return skipped(next(iter(steps.values())).words)
    else:
        text = " ".join(SHORT[level] for level in answering) or "none"
        words = "; ".join(f"{WIRE_LEVEL[lv]}: {s.words}" for lv, s in steps.items() if not s.answered)
        if any(s.outcome == "no answer" for s in steps.values()):
            text += f" ({no_answer(timeout)})"
    missing = [WIRE_LEVEL[level] for level in NEEDED[root] if level not in answering]
    if not missing:
        return Cell(
            "ok" if len(answering) == len(steps) else "info", text, words or "every level answers", value
        )
    needed = f"the service needs {', '.join(missing)} in the {root.title()} Root model"
    return Cell(shortfall, text, f"{needed}: {words}" if words else needed, value)


def _retrieval_cells(
    probed: DimseProbe, retrieve: str, move_to: str | None, timeout: float, shortfall: Status
) -> dict[str, Cell]:
    """C-GET and C-MOVE, judged by `retrieve`: "get" needs C-GET, "move" C-MOVE, "auto" either."""
    get, move = probed.get, probed.move
    moves = move is not None and move.answered
    return {
        "c_get": _get_cell(get, retrieve, moves, timeout, shortfall),
        "c_move": _move_cell(move, retrieve, get.answered, move_to, timeout, shortfall),
    }


def _get_cell(get: Step, retrieve: str, moves: bool, timeout: float, shortfall: Status) -> Cell:
    if get.answered:
        return Cell("ok", "offered", get.words)
    if get.outcome == "not tried":
        return skipped(get.words)
    text = _TEXT.get(get.outcome, get.outcome).replace(_NO_ANSWER, no_answer(timeout))
    if retrieve == "move":
        return Cell("info", text, f'{get.words} (not used: retrieve = "move")')
    if retrieve == "auto" and moves:
        return Cell("info", text, f"{get.words} (reads go by C-MOVE to the receiver)")
    if retrieve == "get":
        advice = 'the node reads by C-GET only (retrieve = "get"): set retrieve = "auto" and DICOM_MCP_RECEIVER_PORT'
    else:
        advice = "set DICOM_MCP_RECEIVER_PORT so that this service reads it by C-MOVE"
    return Cell(shortfall, text, f"{get.words}; {advice} ({READING})")


def _move_cell(
    move: Step | None, retrieve: str, gets: bool, move_to: str | None, timeout: float, shortfall: Status
) -> Cell:
    needed = retrieve == "move" or (retrieve == "auto" and not gets)
    if move is None:
        if not needed:
            return Cell("info", "-", "no receiver (DICOM_MCP_RECEIVER_PORT is not set)")
        words = "no receiver: set DICOM_MCP_RECEIVER_PORT, and register this service's AE title at the PACS"
        return Cell(shortfall, "no receiver", f"{words} ({READING})")
    if move.answered:
        words = (
            f"{move.words}; whether the PACS knows {move_to} at the receiver's address, and can connect "
            "to it, shows on the first read (the check sends nothing)"
        )
        return Cell("ok", "answered", words, {"status": move.status})
    if move.outcome == "not tried":
        return skipped(move.words)
    text = _TEXT.get(move.outcome, move.outcome).replace(_NO_ANSWER, no_answer(timeout))
    if move.outcome == "refused":
        text = "unknown AE"
    status: Status = shortfall if needed else ("warning" if retrieve == "auto" else "info")
    return Cell(status, text, move.words, {"status": move.status})
