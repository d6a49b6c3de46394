"""How `dicom-mcp check` judges what a PACS showed, by what the node's configuration needs of it:
cases the real beds cannot show (a PACS that answers 0xA801, a move destination that is no Q/R SCP)."""

from __future__ import annotations

import json
from typing import Literal

from dicom_mcp.check.cells import Cell, Report, Row
from dicom_mcp.check.dimse_rows import judged
from dicom_mcp.check.report import document, table
from dicom_mcp.dimse.probe import LEVELS, SERVICES, DimseProbe, Step, no_one
from dicom_mcp.model.levels import Level
from dicom_mcp.model.queries import PATIENT_ROOT_FIND, STUDY_ROOT_FIND
from dicom_mcp.model.target import Target

TIMEOUT = 5.0
Retrieve = Literal["get", "move", "auto"]
ANSWERED = Step("answered", "answered", 1.0)


def probed(
    get: Step = ANSWERED, move: Step | None = None, finds: dict[tuple[str, Level], Step] | None = None
) -> DimseProbe:
    every = {(root, level): ANSWERED for root, levels in LEVELS.items() for level in levels}
    return DimseProbe(ANSWERED, tuple(SERVICES), ANSWERED, {**every, **(finds or {})}, move, get)


def cells(
    probe: DimseProbe, retrieve: Retrieve = "auto", move_to: str | None = None, destination: bool = False
) -> dict[str, Cell]:
    target = Target("127.0.0.1", 104, "PACS", name="pacs", retrieve=retrieve)
    return judged(probe, target, TIMEOUT, move_to, destination)


def test_a_destination_the_pacs_does_not_know_fails_a_node_read_by_c_move() -> None:
    unknown = Step(
        "refused", "the PACS does not know the move destination MCPSCU (status 0xA801)", status=0xA801
    )
    judged_cells = cells(probed(get=Step("not offered", "no C-GET"), move=unknown), "move", "MCPSCU")
    assert (judged_cells["c_move"].status, judged_cells["c_move"].text) == ("failed", "unknown AE")
    assert judged_cells["c_get"].status == "info"  # not used: the node reads by C-MOVE


def test_auto_needs_one_way_to_read_and_says_which_is_missing() -> None:
    no_get = Step("refused", "aborted")
    by_move = cells(probed(get=no_get, move=ANSWERED), "auto", "MCPSCU")
    assert (by_move["c_get"].status, by_move["c_move"].status) == ("info", "ok")
    neither = cells(probed(get=no_get), "auto")
    assert (neither["c_get"].status, neither["c_move"].status) == ("failed", "failed")
    assert "set DICOM_MCP_RECEIVER_PORT" in neither["c_get"].detail
    by_get = cells(probed(move=Step("refused", "unknown", status=0xA801)), "auto", "MCPSCU")
    assert (by_get["c_get"].status, by_get["c_move"].status) == ("ok", "warning")


def test_only_the_levels_the_service_queries_are_required() -> None:
    refused = Step("failed", "C-FIND failed with status 0xC000 (unable to process)", status=0xC000)
    some = cells(probed(finds={("patient", Level.SERIES): refused, ("patient", Level.INSTANCE): refused}))
    assert (some["patient_root"].status, some["patient_root"].text) == ("info", "PAT STU")
    assert "SERIES: C-FIND failed with status 0xC000" in some["patient_root"].detail
    missing = cells(probed(finds={("study", Level.SERIES): refused}))
    assert (missing["study_root"].status, missing["study_root"].text) == ("failed", "STU IMG")
    assert missing["study_root"].detail.startswith("the service needs SERIES in the Study Root model")


def test_a_move_destination_need_not_answer_queries() -> None:
    absent = {
        (root, level): Step("not offered", "no C-FIND") for root, levels in LEVELS.items() for level in levels
    }
    storage_only = cells(probed(get=Step("not offered", "no C-GET"), finds=absent), destination=True)
    assert {storage_only[key].status for key in ("patient_root", "study_root", "c_get", "c_move")} == {
        "warning"
    }
    assert storage_only["echo"].status == "ok"


def test_a_rejected_association_leaves_the_rest_untried() -> None:
    rejected = DimseProbe(Step("refused", "rejected the association (called AE title not recognised)"))
    judged_cells = cells(rejected)
    assert (judged_cells["association"].status, judged_cells["association"].text) == ("failed", "rejected")
    assert {judged_cells[key].status for key in ("echo", "patient_root", "c_get")} == {"skipped"}


def test_queries_of_no_one_ask_only_for_unique_keys_in_the_root_asked_for() -> None:
    query = no_one("patient", Level.INSTANCE, "2.25.1", "2.25.2")
    assert query.model == PATIENT_ROOT_FIND
    assert dict(query.matching) == {
        "PatientID": "DICOM-MCP-CHECK-NOBODY", "StudyInstanceUID": "2.25.1", "SeriesInstanceUID": "2.25.2"
    }  # fmt: skip
    assert query.return_keys == ()
    study = no_one("study", Level.STUDY, "2.25.1", "2.25.2")
    assert (study.model, dict(study.matching)) == (STUDY_ROOT_FIND, {"PatientID": "DICOM-MCP-CHECK-NOBODY"})


def test_the_report_renders_as_tables_and_as_json() -> None:
    good = Row(
        "web", "dicomweb", "https://pacs/dicom-web", {"qido_rs": Cell("ok", "3.0 ms", "answered", 3.0)}
    )
    part = Row(
        "session store", "service", "memory", {"result": Cell("warning", "memory", "only this process")}
    )
    report = Report("MCPSCU", TIMEOUT, None, [good, part])
    text = table(report, 0)
    assert "DICOMWEB NODE  URL" in text and "\nweb            https://pacs/dicom-web" in text
    assert "  warning  session store  RESULT  only this process" in text
    assert text.endswith("Everything the service needs answers: exit status 0")
    parsed = json.loads(json.dumps(document(report, 0)))
    assert parsed["nodes"][0]["checks"]["qido_rs"] == {
        "status": "ok",
        "text": "3.0 ms",
        "detail": "answered",
        "value": 3.0,
    }
    assert parsed["parts"][0]["ok"] is True and parsed["ok"] is True
