"""Callers of the pseudonymised service, and what the tests ask of every answer.

Token forms follow the contract: UIDs `2.25.<decimal of 128 bits>`, Patient ID, Accession
Number and Study ID a letter, a dash and 12 base32 characters, the name `PATIENT^<patient token>`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from mcp_types import CallToolResult

from testbeds.canary import CANARIES, CanaryStudy
from testbeds.clients import mcp_client
from testbeds.pacs import RunningPacs
from testbeds.service import RunningService
from tests.privacy.conftest import bearer
from tests.privacy.scan import Transcript, canaries_in_context

TOKENS: Final = {
    "PatientID": re.compile(r"P-[A-Z2-7]{12}"),
    "AccessionNumber": re.compile(r"A-[A-Z2-7]{12}"),
    "StudyID": re.compile(r"S-[A-Z2-7]{12}"),
}
UID_TOKEN: Final = re.compile(r"2\.25\.(0|[1-9][0-9]*)")
CT_IMAGE: Final = "1.2.840.10008.5.1.4.1.1.2"


def is_uid_token(value: object) -> bool:
    """A UID made of 128 bits under the 2.25 root (PS3.5 B.2), as every non-registered UID becomes."""
    text = str(value)
    return bool(UID_TOKEN.fullmatch(text)) and len(text) <= 64 and int(text[5:]) < 2**128


def iso(dicom_date: str) -> str:
    return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:]}"


def text_of(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


@asynccontextmanager
async def as_principal(service: RunningService, principal: str) -> AsyncIterator[Transcript]:
    """A new MCP session of `principal` (its bearer token), every answer kept."""
    async with mcp_client(service.mcp_url, "modern", headers=bearer(principal)) as client:
        yield Transcript(client)


async def aim(t: Transcript, pacs: RunningPacs) -> dict[str, str]:
    """The arguments that send calls to `pacs`: none for Orthanc (the default), a session for dcmqrscp."""
    if pacs.name == "orthanc":
        return {}
    return {"session": str((await t.ok("configure_dicom_server", node="dcmqrscp"))["session"])}


async def identifiers(t: Transcript) -> dict[str, Any]:
    """What a caller learns of the patient from the top: patient, studies, the first study's series."""
    (patient,) = (await t.ok("query_patients"))["matches"]
    found = await t.ok("query_studies", patient_id=patient["PatientID"])
    studies = sorted(found["matches"], key=lambda match: str(match["StudyDate"]))
    series = await t.ok("query_series", study_instance_uid=studies[0]["StudyInstanceUID"])
    return {
        "PatientID": patient["PatientID"],
        "PatientName": patient["PatientName"],
        "studies": [{key: s[key] for key in ("StudyInstanceUID", *TOKENS, "StudyDate")} for s in studies],
        "series": sorted(str(match["SeriesInstanceUID"]) for match in series["matches"]),
    }


async def ct_slices(t: Transcript, study_uid: str) -> list[dict[str, Any]]:
    """The matches of the study's CT series (series 1), by instance number."""
    (series,) = (await t.ok("query_series", study_instance_uid=study_uid, series_number="1"))["matches"]
    slices = await t.ok("query_instances", series_instance_uid=series["SeriesInstanceUID"])
    return sorted(slices["matches"], key=lambda match: int(match["InstanceNumber"]))


def tokens_of(seen: dict[str, Any]) -> set[str]:
    """The tokens among `identifiers`' answers (dates left out: two offsets may agree by chance)."""
    studies = [str(s[key]) for s in seen["studies"] for key in ("StudyInstanceUID", *TOKENS)]
    return {seen["PatientID"], *studies, *seen["series"]}


def originals(study: CanaryStudy) -> list[str]:
    return sorted(uid for series in study.series for uid in series.sop_uids)


def assert_no_canary(*transcripts: Transcript, log: str = "", canaries: tuple[str, ...] = CANARIES) -> None:
    """No canary in any answer, picture or progress message of `transcripts`, nor in the service's `log`."""
    hits = [hit for t in transcripts for hit in t.hits(canaries)]
    hits += [f"service log: {hit}" for hit in canaries_in_context(log, canaries)]
    assert hits == [], "\n".join(hits)
