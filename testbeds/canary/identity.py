"""Who the canary patient is: the values planted in the study, and the written forms of its dates.

Every name, ID and place contains CANARY; the UIDs share ROOT; the dates are more than 365 days
apart from each other, so that no date moved by a pseudonym's offset (at most 365 days) lands
on another planted date and reads as a leak.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

ROOT: Final = "1.2.826.0.1.3680043.8.498.77731"
FAMILY: Final = "CANARYFAMILIÄ"
GIVEN: Final = "CANARYGIVENÖ"
PATIENT_NAME: Final = f"{FAMILY}^{GIVEN}"
PATIENT_ID: Final = "CANARYPID-7731"
OTHER_PATIENT_ID: Final = "CANARYOPID-5519"
ISSUER: Final = "CANARYISSUER"
BIRTH_DATE: Final = "19610423"
ADDRESS: Final = "CANARYSTRASSE 7731, KANARIENSTADT"
TELEPHONE: Final = "+49 7731 5550199"
INSTITUTION: Final = "CANARY INSTITUTE 7731"
INSTITUTION_ADDRESS: Final = "CANARYWEG 7731, VOGELSBERG"
REFERRER: Final = "CANARYREFERRER^CANARYRUTH"
PERFORMER: Final = "CANARYPERFORMER^CANARYPAULA"
OPERATOR: Final = "CANARYOPERATOR^CANARYOTTO"
OBSERVER: Final = "CANARYOBSERVER^CANARYOLGA"
STATION: Final = "CANARYSTATION7"
DEVICE_SERIAL: Final = "CANARYSN-7731"
REQUESTED_PROCEDURE_ID: Final = "CANARYRPID-7731"
PRIVATE_CREATOR: Final = "ACME RESEARCH 1.0"  # not a canary: the value under it is

STUDY_DATE: Final = "20190611"
GAP_DAYS: Final = 500  # from the first study to the follow-up
PRIOR_DATE: Final = "20160302"  # the SR's "Date of prior study"
PRIOR_STUDY_UID: Final = f"{ROOT}.9.1"  # the SR's UIDREF item: a study this PACS does not hold
MONTHS: Final = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


def shifted(dicom_date: str, days: int) -> str:
    """`dicom_date` (YYYYMMDD) moved by `days`."""
    moved = dt.datetime.strptime(dicom_date, "%Y%m%d").date() + dt.timedelta(days=days)
    return moved.strftime("%Y%m%d")


def days_between(earlier: str, later: str) -> int:
    """Days from one DICOM date (YYYYMMDD) to another."""
    start, end = (dt.datetime.strptime(d, "%Y%m%d").date() for d in (earlier, later))
    return (end - start).days


def written_forms(dicom_date: str) -> tuple[str, ...]:
    """The date as DICOM writes it and as people do (ISO, day first, month first, in words)."""
    d = dt.datetime.strptime(dicom_date, "%Y%m%d").date()
    month = MONTHS[d.month - 1]
    return (
        dicom_date,
        d.isoformat(),
        f"{d:%d/%m/%Y}",
        f"{d:%d.%m.%Y}",
        f"{d:%d-%m-%Y}",
        f"{d:%m/%d/%Y}",
        f"{d.day} {month} {d.year}",
        f"{d.day} {month[:3]} {d.year}",
        f"{month} {d.day}, {d.year}",
    )
