"""A canary patient: identifiers planted everywhere a study can hold them, for the pseudonymised view.

One patient, two studies (study.py): the first with CT slices, a Comprehensive SR, an
Encapsulated PDF, an ultrasound image and a secondary capture; the second, GAP_DAYS later, CT
slices. The patient's name (non-ASCII, UTF-8), IDs, birth date, accession numbers, institution,
people, UIDs and dates (identity.py) sit in the usual attributes, in a private element, in a
nested sequence, in descriptions, in SR text and in the PDF's text (reports.py).

PLANTED lists every value literally in the data; CANARIES adds the forms a leak could take
(dates written as people write them, the UID root, the word CANARY that every name, ID and
place here contains). PATIENT_CANARIES are the patient's own identifiers, which scrubbed text
must not hold. The data is made in memory: `store_in_orthanc` uploads it, `write_study` writes
Part 10 files (into a temporary directory) for dcmqrscp.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from testbeds.canary.identity import (
    ADDRESS,
    BIRTH_DATE,
    DEVICE_SERIAL,
    FAMILY,
    GAP_DAYS,
    GIVEN,
    INSTITUTION,
    INSTITUTION_ADDRESS,
    ISSUER,
    OBSERVER,
    OPERATOR,
    OTHER_PATIENT_ID,
    PATIENT_ID,
    PATIENT_NAME,
    PERFORMER,
    PRIOR_DATE,
    PRIOR_STUDY_UID,
    REFERRER,
    REQUESTED_PROCEDURE_ID,
    ROOT,
    STATION,
    STUDY_DATE,
    TELEPHONE,
    days_between,
    shifted,
    written_forms,
)
from testbeds.canary.reports import CLINICAL_WORDS, DIAMETER, FINDING_SITE, PDF_TITLE
from testbeds.canary.study import CanarySeries, CanaryStudy, first_study, follow_up_study
from testbeds.pacs import RunningPacs

__all__ = [
    "BIRTH_DATE",
    "CANARIES",
    "CLINICAL_WORDS",
    "DIAMETER",
    "FAMILY",
    "FINDING_SITE",
    "GAP_DAYS",
    "GIVEN",
    "OBSERVER",
    "PATIENT_CANARIES",
    "PATIENT_ID",
    "PATIENT_NAME",
    "PDF_TITLE",
    "PLANTED",
    "PRIOR_DATE",
    "STUDY_DATE",
    "CanarySeries",
    "CanaryStudy",
    "canary_studies",
    "days_between",
    "part10",
    "shifted",
    "store_in_orthanc",
    "write_study",
    "written_forms",
]


def canary_studies() -> tuple[CanaryStudy, CanaryStudy]:
    """The patient's two studies: the first, and the follow-up GAP_DAYS later."""
    return first_study(), follow_up_study()


def _planted(studies: Sequence[CanaryStudy]) -> tuple[str, ...]:
    people = [PATIENT_NAME, REFERRER, PERFORMER, OPERATOR, OBSERVER]
    parts = [part for name in people for part in name.split("^")]
    ids = [PATIENT_ID, OTHER_PATIENT_ID, ISSUER, REQUESTED_PROCEDURE_ID, STATION, DEVICE_SERIAL]
    places = [ADDRESS, TELEPHONE, INSTITUTION, INSTITUTION_ADDRESS]
    per_study = [v for s in studies for v in (s.study_uid, s.accession, s.study_id, s.date)]
    uids = [uid for s in studies for series in s.series for uid in (series.series_uid, *series.sop_uids)]
    return (*people, *parts, *ids, *places, BIRTH_DATE, PRIOR_DATE, PRIOR_STUDY_UID, *per_study, *uids)


PLANTED: Final = _planted(canary_studies())
DATES: Final = (BIRTH_DATE, PRIOR_DATE, STUDY_DATE, shifted(STUDY_DATE, GAP_DAYS))
PATIENT_CANARIES: Final = (
    PATIENT_NAME,
    FAMILY,
    GIVEN,
    PATIENT_ID,
    OTHER_PATIENT_ID,
    *(v for s in canary_studies() for v in (s.accession, s.study_id)),
    *(form for date in DATES for form in written_forms(date)),
)
CANARIES: Final = tuple(dict.fromkeys((*PLANTED, *PATIENT_CANARIES, ROOT, "CANARY", "KANARIENSTADT")))


def part10(ds: Dataset) -> bytes:
    """`ds` as a Part 10 file in Explicit VR Little Endian."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID, meta.ImplementationClassUID = ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def store_in_orthanc(pacs: RunningPacs, datasets: Iterable[Dataset]) -> int:
    """Upload `datasets` through Orthanc's REST API (POST /instances); return how many it stored."""
    assert pacs.http_url is not None, "an Orthanc test bed has a REST URL"
    host, port = pacs.http_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    stored = 0
    try:
        for ds in datasets:
            headers = {"Content-Type": "application/dicom"}
            connection.request("POST", "/instances", body=part10(ds), headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(
                    f"Orthanc refused a canary instance: HTTP {response.status} {body[:200]!r}"
                )
            stored += 1
    finally:
        connection.close()
    pacs.instance_count += stored
    return stored


def write_study(directory: Path, datasets: Iterable[Dataset]) -> list[Path]:
    """Write `datasets` as Part 10 files into `directory` (a temporary one), e.g. for dcmqrscp to index."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for ds in datasets:
        path = directory / f"{str(ds.SOPInstanceUID).replace('.', '_')}.dcm"
        path.write_bytes(part10(ds))
        paths.append(path)
    return paths
