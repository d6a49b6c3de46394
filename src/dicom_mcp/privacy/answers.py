"""One call's answer as a pseudonymised caller may read it, whatever the tool.

The answer is the MCP result as JSON (`structuredContent`, `content` blocks, `_meta`). It is
read twice. The first pass gathers every identity it holds (patient IDs, names, accession
numbers, birth dates), adding those the sandbox noted while parsing instances and those behind
the call's own token arguments. The second pass rewrites it:

  * objects keyed by DICOM keyword (query matches, header attributes) follow `annex_e`, with
    each row's dates moved by its own patient's offset;
  * the service's own fields follow FIELDS below; a field nobody classified is left out, so a
    field added to a tool later is hidden until someone decides it is safe;
  * every other string is cleaned (`text.Cleaner`): UIDs become tokens and known identities
    their replacements;
  * images are kept only if the sandbox vetted the instance they show (`pixels.refusal`), and
    lose any PNG text chunk.

Every token written is listed in `emitted`, for the reverse map.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from dicom_mcp.privacy import annex_e, pseudonyms
from dicom_mcp.privacy.annex_e import Action
from dicom_mcp.privacy.disclosure import Disclosure
from dicom_mcp.privacy.fields import (
    DICOM,
    FIELDS,
    ISO_DATE,
    NEST,
    REMOVE,
    TREE,
    UID,
    UIDS,
)
from dicom_mcp.privacy.identities import Identities, one
from dicom_mcp.privacy.pixels import without_text
from dicom_mcp.privacy.pseudonyms import Pseudonymiser
from dicom_mcp.privacy.text import Cleaner

logger = logging.getLogger(__name__)

Emitted = dict[tuple[str, str], tuple[str, str | None]]  # (kind, token) -> (original, patient ID)

WITHHELD_TEXT: Final = (
    "[text withheld in the pseudonymised view: free text may name the patient; "
    "the operator can allow scrubbed text with DICOM_MCP_PSEUDONYMISED_TEXT=scrub]"
)
SCRUBBED: Final = "[scrubbed, best effort] "

_TAG_KEY: Final = re.compile(r"\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)")


@dataclass(frozen=True)
class DateFilter:
    """A date range asked for in the shifted calendar, applied to the rows after they moved."""

    keyword: str
    low: str  # YYYYMMDD or ""
    high: str
    limit: int


class Answer:
    """Rewrites one call's answer for one principal (see the module docstring)."""

    def __init__(
        self,
        pseudonymiser: Pseudonymiser,
        disclosure: Disclosure,
        *,
        patient: str | None,
        originals: Mapping[str, str],
        pictures_meta: str,
        date_filter: DateFilter | None = None,
        identity: Mapping[str, Any] | None = None,
    ) -> None:
        """
        Args:
            patient: the original Patient ID the call's arguments were about, if known.
            originals: original -> token for the call's own token arguments.
            pictures_meta: the `_meta` key under which pictures travel.
            identity: what an earlier answer taught about that patient (`identities`), for
                answers that do not carry it themselves (a series' description).
        """
        self._p = pseudonymiser
        self._disclosure = disclosure
        self._patient = patient
        self._pictures_meta = pictures_meta
        self._filter = date_filter
        self.emitted: Emitted = {}
        self._cleaner: Cleaner | None = None
        self.identities = Identities(self._token, pseudonymiser.name, originals, patient)
        for facts in [identity or {}, *disclosure.facts]:
            self.identities.harvest_dataset(facts)

    # --- the whole answer -----------------------------------------------------------------------

    def rewrite(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer as the pseudonymised caller gets it."""
        self.identities.harvest(answer.get("structuredContent"))
        for block in answer.get("content") or []:
            if block.get("type") == "text":
                self.identities.harvest(_json_or_none(block.get("text")))
        if self._patient is None and len(self.identities.patients) == 1:
            self._patient = next(iter(self.identities.patients))
        rewritten = ("structuredContent", "content", "_meta")
        out: dict[str, Any] = {k: self._plain(v) for k, v in answer.items() if k not in rewritten}
        if answer.get("structuredContent") is not None:
            out["structuredContent"] = self._filtered(self._service(answer["structuredContent"]))
        blocks = [self._block(block) for block in answer.get("content") or []]
        out["content"] = [block for block in blocks if block is not None]
        if any(block.get("type") == "image" for block in out["content"]) and not self._disclosure.shown:
            return _error(out, "withheld: the picture was not vetted for the pseudonymised view")
        meta = answer.get("_meta")
        if isinstance(meta, dict):
            out["_meta"] = self._meta(meta)
        return out

    def _block(self, block: dict[str, Any]) -> dict[str, Any] | None:
        kind = block.get("type")
        if kind == "text":
            parsed = _json_or_none(block.get("text"))
            if parsed is not None:
                rewritten = self._service(parsed)
                if isinstance(rewritten, dict):
                    rewritten = self._filtered(rewritten)
                text = json.dumps(rewritten, ensure_ascii=False, separators=(",", ":"))
            else:
                text = self._clean(str(block.get("text", "")), self._patient)
            return {"type": "text", "text": text}
        if kind == "image":
            return {**block, "data": without_text(str(block.get("data", "")), str(block.get("mimeType")))}
        return None  # audio, resources, links: no tool returns them; none passes unvetted

    def _meta(self, meta: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in meta.items():
            if key == self._pictures_meta and isinstance(value, list):
                out[key] = [self._picture(item) for item in value if self._vetted(item)]
            else:
                out[key] = self._plain(value)
        return out

    def _vetted(self, item: Any) -> bool:
        return isinstance(item, dict) and str(item.get("uid")) in self._disclosure.shown

    def _picture(self, item: dict[str, Any]) -> dict[str, Any]:
        mime = str(item.get("mimeType"))
        frame = item.get("frame")
        return {
            "uid": self._uid(str(item["uid"]), self._patient),
            **({"frame": frame} if isinstance(frame, int) and not isinstance(frame, bool) else {}),
            "mimeType": mime,
            "data": without_text(str(item.get("data", "")), mime),
        }

    # --- rewriting ------------------------------------------------------------------------------

    def _service(self, value: Any, patient: str | None = None) -> Any:
        """A value of the service's own making: fields by FIELDS, strings cleaned."""
        if isinstance(value, list):
            return [self._service(item, patient) for item in value]
        if not isinstance(value, dict):
            return self._plain(value, patient)
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "text" and "kind" in value:
                out[key] = self._report_text(str(value["kind"]), item)
                continue
            rule = FIELDS.get(key)
            if rule is None:
                logger.warning(
                    "a result field no rule classifies was left out of a pseudonymised answer: %s", key[:64]
                )
                continue
            out[key] = self._by_rule(rule, item, patient)
        return out

    def _by_rule(self, rule: str, item: Any, patient: str | None) -> Any:
        if rule == TREE:
            return item
        if rule == REMOVE:
            return None
        if rule == NEST:
            return self._service(item, patient)
        if rule == DICOM:
            return (
                [self._dataset(row, patient) for row in item]
                if isinstance(item, list)
                else self._dataset(item, patient)
            )
        if rule == ISO_DATE:
            return self._iso_date(item, patient)
        if rule in (UID, UIDS):
            return _map(item, lambda uid: self._uid(uid, patient))
        return _map(item, lambda text: self._clean(text, patient))  # KEEP, TEXT, DESCRIPTION

    def _dataset(self, ds: Any, patient: str | None) -> Any:
        """An object keyed by DICOM keyword, after annex_e."""
        if not isinstance(ds, dict):
            return None
        patient = one(ds.get("PatientID")) or patient or self._patient
        out: dict[str, Any] = {}
        for key, value in ds.items():
            if _TAG_KEY.fullmatch(key):
                continue  # private or unknown: removed
            action = annex_e.action(key)
            if action is Action.KEEP:
                out[key] = _map(value, lambda v: self._clean(v, patient))
            elif action is Action.UID:
                out[key] = _map(value, lambda uid: self._uid(uid, patient))
            elif action in (Action.PATIENT_ID, Action.ACCESSION, Action.STUDY_ID):
                out[key] = _map(value, partial(self._token, action.value, patient=patient))
            elif action is Action.NAME:
                out[key] = self._p.name(patient) if value else value
            elif action is Action.DATE:
                out[key] = _map(value, lambda v: self._shift(v, patient))
            elif action is Action.DESCRIPTION:
                out[key] = _map(value, lambda v: self._clean(v, patient))
            elif action is Action.SEQUENCE:
                out[key] = (
                    [self._dataset(item, patient) for item in value] if isinstance(value, list) else None
                )
            elif action is Action.AGE and "PatientAge" not in ds:
                age = _age(one(value), one(ds.get("StudyDate")) or one(ds.get("ContentDate")))
                if age:
                    out["PatientAge"] = age
        return out

    def _report_text(self, kind: str, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        if kind == "unreadable":
            return self._clean(text, self._patient)
        if self._disclosure.text != "scrub":
            return (
                self._clean(text, self._patient)
                if kind == "sr" and self._disclosure.redacted
                else WITHHELD_TEXT
            )
        return SCRUBBED + self._clean(text, self._patient)

    def _filtered(self, structured: Any) -> Any:
        """Rows outside the date range asked for (in the shifted calendar) left out; `count` follows."""
        flt = self._filter
        if flt is None or not isinstance(structured, dict) or not isinstance(structured.get("matches"), list):
            return structured
        rows = [
            row
            for row in structured["matches"]
            if isinstance(row, dict)
            and isinstance(row.get(flt.keyword), str)
            and (not flt.low or row[flt.keyword] >= flt.low)
            and (not flt.high or row[flt.keyword] <= flt.high)
        ]
        kept = rows[: flt.limit]
        return {
            **structured,
            "matches": kept,
            "count": len(kept),
            "limit": flt.limit,
            "truncated": len(rows) > flt.limit or bool(structured.get("truncated")),
        }

    # --- values ---------------------------------------------------------------------------------

    def _token(self, kind: str, original: str, patient: str | None = None) -> str:
        token = self._p.token(kind, original)
        self.emitted[(kind, token)] = (original, patient)
        return token

    def _uid(self, uid: str, patient: str | None) -> str:
        if not uid or annex_e.registered(uid):
            return uid
        # Any other value is an identifier, whatever its shape: some PACS hold hexadecimal or
        # UUID-like "UIDs", and they identify as well as digits do.
        return self._token(pseudonyms.UID, uid, patient or self._patient)

    def _shift(self, value: str, patient: str | None) -> str | None:
        if not value:
            return value
        if patient is None:
            return None  # no patient, no offset: the date is left out rather than shown as it is
        return pseudonyms.shift_dicom(value, self._p.offset(patient))

    def _iso_date(self, value: Any, patient: str | None) -> Any:
        patient = patient or self._patient
        if not isinstance(value, str) or patient is None:
            return None
        moved = pseudonyms.shift_date(value.replace("-", ""), self._p.offset(patient))
        return f"{moved[:4]}-{moved[4:6]}-{moved[6:]}" if moved else None

    def _plain(self, value: Any, patient: str | None = None) -> Any:
        if isinstance(value, str):
            return self._clean(value, patient)
        if isinstance(value, list):
            return [self._plain(item, patient) for item in value]
        if isinstance(value, dict):
            return {key: self._plain(item, patient) for key, item in value.items()}
        return value

    def _clean(self, text: str, patient: str | None) -> str:
        patient = patient or self._patient
        if self._cleaner is None:  # made once harvesting is over: what is known no longer grows
            self._cleaner = Cleaner(self.identities.known, self.identities.births)
        days = self._p.offset(patient) if patient else None
        return self._cleaner.clean(text, days, lambda uid: self._uid(uid, patient))


def _error(answer: dict[str, Any], text: str) -> dict[str, Any]:
    kept = {k: v for k, v in answer.items() if k not in ("structuredContent", "content", "_meta")}
    return {**kept, "content": [{"type": "text", "text": text}], "isError": True}


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str) or not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _map(value: Any, change: Callable[[str], Any]) -> Any:
    if isinstance(value, list):
        return [change(v) if isinstance(v, str) else v for v in value]
    return change(value) if isinstance(value, str) else value


def _age(birth: str | None, at: str | None) -> str | None:
    """A DICOM age string (e.g. 063Y, 011M) between two DICOM dates, or None."""
    try:
        born = dt.datetime.strptime(str(birth)[:8], "%Y%m%d").date()
        then = dt.datetime.strptime(str(at)[:8], "%Y%m%d").date()
    except ValueError:
        return None
    months = (then.year - born.year) * 12 + then.month - born.month - (then.day < born.day)
    if months < 0:
        return None
    return f"{months // 12:03d}Y" if months >= 24 else f"{months:03d}M"
