"""What identifies the patients one answer touches, gathered before the answer is rewritten.

Every object keyed by DICOM keyword (a query match, a header, the facts the sandbox noted while
parsing an instance, what an earlier answer taught about a patient) gives up its patient's ID,
name and its parts, birth date, other IDs, accession numbers, Study IDs and person names: each
becomes a replacement that free text is cleaned with (`text.Cleaner`), and each patient's own
identity is kept (`by_patient`) for the reverse map, so that a later answer about that patient
that carries none of it (a series' description) is still cleaned of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from pydicom.datadict import dictionary_VR, tag_for_keyword

from dicom_mcp.privacy import annex_e, pseudonyms

MAX_REMEMBERED: Final = 50  # accession numbers, study IDs and other IDs kept per patient

Token = Callable[[str, str, str | None], str]  # (kind, original, patient) -> token, noted as emitted


class Identities:
    """The identities one answer touches (see the module docstring)."""

    def __init__(
        self,
        token: Token,
        name: Callable[[str | None], str],
        originals: Mapping[str, str],
        patient: str | None,
    ) -> None:
        """
        Args:
            token: makes (and notes) a token.
            name: a patient's pseudonym name, from its original ID.
            originals: original -> token for the call's own token arguments.
            patient: the original Patient ID the call is about, if known.
        """
        self._token = token
        self._name = name
        self._default = patient
        self.known: dict[str, str] = dict(originals)  # original -> what replaces it in text
        self.births: set[str] = set()
        self.patients: set[str] = {patient} if patient else set()
        self.by_patient: dict[str, dict[str, Any]] = {}  # patient ID -> its identifying values

    def harvest(self, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                self.harvest(item)
        elif isinstance(value, dict):
            if any(tag_for_keyword(key) is not None for key in value if key[:1].isupper()):
                self.harvest_dataset(value)
            for item in value.values():
                if isinstance(item, dict | list):
                    self.harvest(item)

    def harvest_dataset(self, ds: Mapping[str, Any]) -> None:
        patient = one(ds.get("PatientID"))
        if patient:
            self.patients.add(patient)
            self.known[patient] = self._token(pseudonyms.PATIENT_ID, patient, patient)
            self._remember_identity(patient, ds)
        for keyword, kind in (("AccessionNumber", pseudonyms.ACCESSION), ("StudyID", pseudonyms.STUDY_ID)):
            for value in many(ds.get(keyword)):
                self.known[value] = self._token(kind, value, patient or self._default)
        for other in many(ds.get("OtherPatientIDs")):
            self.known[other] = "[ID]"
        birth = one(ds.get("PatientBirthDate"))
        if birth:
            self.births.add(birth)
        self._harvest_odd_uids(ds, patient)
        own = one(ds.get("PatientName"))
        if own:
            self.known[own] = self._name(patient)
        names = [own] if own else []
        names += many(ds.get("names"))
        names += [n for key, value in ds.items() if _is_pn(key) for n in many(value)]
        for name in names:
            words = re.split(r"[\^=\s,]+", name)  # Smith-Jones, and Smith and Jones
            for part in words + [piece for word in words if "-" in word for piece in word.split("-")]:
                if len(part.strip(".")) >= 2:
                    self.known.setdefault(part.strip("."), "[name]")

    def _harvest_odd_uids(self, ds: Mapping[str, Any], patient: str | None) -> None:
        """UIDs that are not digits and dots (some PACS hold hexadecimal ones): free text would not
        spot them as UIDs, so they are replaced as known values."""
        for key, value in ds.items():
            if _is_ui(key):
                for uid in many(value):
                    if not uid.replace(".", "").isdigit() and not annex_e.registered(uid):
                        self.known[uid] = self._token(pseudonyms.UID, uid, patient or self._default)

    def _remember_identity(self, patient: str, ds: Mapping[str, Any]) -> None:
        """Keep what identifies `patient` in `ds`, so that later calls about it can clean text."""
        kept = self.by_patient.setdefault(patient, {"PatientID": patient})
        for keyword in ("PatientName", "PatientBirthDate"):
            if one(ds.get(keyword)):
                kept[keyword] = one(ds.get(keyword))
        for keyword in ("OtherPatientIDs", "AccessionNumber", "StudyID"):
            values = list(dict.fromkeys([*many(kept.get(keyword)), *many(ds.get(keyword))]))
            if values:
                kept[keyword] = values[-MAX_REMEMBERED:]


def one(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if isinstance(value, str | int) and str(value) else None


def many(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str) and v]
    return [value] if isinstance(value, str) and value else []


def _is_ui(keyword: str) -> bool:
    tag = tag_for_keyword(keyword) if keyword[:1].isupper() else None
    return tag is not None and dictionary_VR(tag) == "UI"


def _is_pn(keyword: str) -> bool:
    tag = tag_for_keyword(keyword) if keyword[:1].isupper() else None
    return tag is not None and dictionary_VR(tag) == "PN"
