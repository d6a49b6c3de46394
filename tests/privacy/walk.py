"""A caller's walk through the canary patient, from the patient down to the pixels and a move.

Every argument of every call comes from an earlier answer (never from the test bed), so the
same walk serves the identified caller, who gets originals, and the pseudonymised one, who
gets tokens. The series are told apart by their numbers (testbeds/canary/study.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp_types import CallToolResult

from tests.privacy.scan import Transcript
from tests.reading_beds import DESTINATION

KINDS = {1: "ct", 2: "sr", 3: "pdf", 4: "us", 5: "sc"}  # SeriesNumber -> kind, in the first study


@dataclass
class Walked:
    """What the walk saw, by step."""

    patient: dict[str, Any]
    studies: list[dict[str, Any]]  # first, then the follow-up (by StudyDate)
    series: dict[str, dict[str, Any]]  # kind -> the series' match
    instances: dict[str, list[dict[str, Any]]]  # kind -> its instances' matches, by InstanceNumber
    header: dict[str, Any]  # of the second CT slice
    reports: dict[str, dict[str, Any]]  # kind (sr, pdf) -> report
    image: CallToolResult  # render_image of the second CT slice
    others: dict[str, CallToolResult]  # kind (us, sc) -> render_image's result (an error when withheld)
    viewer: dict[str, Any]
    thumbnails: dict[str, Any]
    frames: dict[str, Any]
    moved: dict[str, Any]

    @property
    def study_uid(self) -> str:
        return str(self.studies[0]["StudyInstanceUID"])

    def uid(self, kind: str, index: int = 0) -> str:
        """The SOP Instance UID of instance `index` of the series of `kind`."""
        return str(self.instances[kind][index]["SOPInstanceUID"])


async def walk(t: Transcript, target: dict[str, str], *, move: bool = True) -> Walked:
    """Patient -> studies -> series -> instances -> header -> reports -> image -> viewer -> move."""
    (patient,) = (await t.ok("query_patients", **target))["matches"]
    found = await t.ok("query_studies", patient_id=patient["PatientID"], **target)
    studies = sorted(found["matches"], key=lambda match: str(match["StudyDate"]))
    study = str(studies[0]["StudyInstanceUID"])
    listed = await t.ok("query_series", study_instance_uid=study, **target)
    series = {KINDS[int(match["SeriesNumber"])]: match for match in listed["matches"]}
    instances = {}
    for kind, match in series.items():
        one = await t.ok("query_instances", series_instance_uid=match["SeriesInstanceUID"], **target)
        instances[kind] = sorted(one["matches"], key=lambda m: int(m["InstanceNumber"]))
    ct = str(instances["ct"][1]["SOPInstanceUID"])
    ct_series = str(series["ct"]["SeriesInstanceUID"])
    parents = {"series_instance_uid": ct_series, "study_instance_uid": study}
    header = await t.ok("get_instance_metadata", sop_instance_uid=ct, **parents, **target)
    reports = (await t.ok("read_report", study_instance_uid=study, **target))["reports"]
    image = await t.result("render_image", sop_instance_uid=ct, **target)
    others = {
        kind: await t.result("render_image", sop_instance_uid=instances[kind][0]["SOPInstanceUID"], **target)
        for kind in ("us", "sc")
    }
    viewer = await t.ok("open_study_viewer", study_instance_uid=study, **target)
    thumbnails = await t.ok("viewer_thumbnails", study_instance_uid=study, **target)
    frames = await t.ok("viewer_frames", study_instance_uid=study, series_instance_uid=ct_series, **target)
    moved = (
        await t.ok("move_study", study_instance_uid=study, destination=DESTINATION, **target) if move else {}
    )
    return Walked(
        patient,
        studies,
        series,
        instances,
        header,
        {report["kind"]: report for report in reports},
        image,
        others,
        viewer,
        thumbnails,
        frames,
        moved,
    )
