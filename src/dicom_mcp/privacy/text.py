"""Free text with identities taken out: a best effort, in one pass over the text.

What is replaced, in this order of precedence at any one place in the text:

    UIDs              an instance UID (five or more components, or 2.25.<n>) becomes its token
    known values      each identifier the call met (the patient's IDs, accession, names and
                      their parts, other person names) becomes its replacement; case is ignored
    dates             written as 20240312, 2024-03-12, 12/03/2024, 12.03.2024, 12 March 2024 or
                      March 12, 2024: a birth date becomes "[birth date]"; any other moves by the
                      patient's offset in the same form, or becomes "[date]" without a patient

One regular expression does it all, so a replacement is never replaced again.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Final

from dicom_mcp.privacy.annex_e import registered

_MONTHS: Final = {name.lower(): number for number, name in enumerate(calendar.month_name) if name} | {
    name.lower(): number for number, name in enumerate(calendar.month_abbr) if name
}
_MONTH: Final = "|".join(sorted(_MONTHS, key=len, reverse=True))
MIN_NUMBER_DIGITS: Final = 5
_ORDINAL: Final = r"(?:st|nd|rd|th)?"
_PATTERNS: Final = (
    r"(?P<uid>(?<![\w.])(?:[0-2](?:\.(?:0|[1-9][0-9]*)){4,}|2\.25\.[0-9]{6,})(?!\w|\.[0-9]))",
    "{known}",
    r"(?P<iso>(?<!\w)(?P<iso_y>\d{4})(?P<iso_s>[-/])(?P<iso_m>\d{2})(?P=iso_s)(?P<iso_d>\d{2})(?!\d))",
    r"(?P<da>(?<!\w)(?P<da_y>(?:19|20)\d{2})(?P<da_m>\d{2})(?P<da_d>\d{2})(?!\w))",
    r"(?P<dmy>(?<![\w.])(?P<dmy_a>\d{1,2})(?P<dmy_s>[./-])(?P<dmy_b>\d{1,2})(?P=dmy_s)(?P<dmy_y>\d{4})(?!\w))",
    rf"(?P<dnamed>(?<!\w)(?P<dn_d>\d{{1,2}}){_ORDINAL}[\s-]+(?P<dn_m>{_MONTH})\.?[\s-]+(?P<dn_y>\d{{4}})(?!\w))",
    rf"(?P<named>(?<!\w)(?P<nd_m>{_MONTH})\.?\s+(?P<nd_d>\d{{1,2}}){_ORDINAL},?\s+(?P<nd_y>\d{{4}})(?!\w))",
)


class Cleaner:
    """Cleans the free text of one call."""

    def __init__(self, known: Mapping[str, str], birth_dates: set[str]) -> None:
        """
        Args:
            known: original value -> replacement (values shorter than two characters are left).
            birth_dates: birth dates to hide, as DICOM dates (YYYYMMDD).
        """
        self._known = {
            value.casefold(): replacement for value, replacement in known.items() if _worth_replacing(value)
        }
        spellings = {value for value in known if _worth_replacing(value)} | set(self._known)
        self._births = {self._parse(value) for value in birth_dates} - {None}
        alternatives = "|".join(re.escape(value) for value in sorted(spellings, key=len, reverse=True))
        known_pattern = rf"(?P<known>(?<!\w)(?i:{alternatives})(?!\w))" if alternatives else "(?P<known>(?!))"
        self._pattern = re.compile(
            "|".join(p.replace("{known}", known_pattern) for p in _PATTERNS), re.IGNORECASE
        )

    def clean(self, text: str, days: int | None, uid_token: Callable[[str], str]) -> str:
        """`text` cleaned; `days` is its patient's date offset (None: every date becomes "[date]"),
        `uid_token` gives an instance UID's token."""
        return self._pattern.sub(partial(self._replace, days, uid_token), text)

    def _replace(self, days: int | None, uid_token: Callable[[str], str], match: re.Match[str]) -> str:
        kind = match.lastgroup
        whole = match.group(0)
        if kind == "uid":
            return whole if registered(whole) else uid_token(whole)
        if kind == "known":
            return self._known.get(whole.casefold(), "[removed]")
        date, render = self._read(match)
        if date is None:
            return whole
        if date in self._births:
            return "[birth date]"
        if days is None:
            return "[date]"
        try:
            return render(date + dt.timedelta(days=days))
        except OverflowError:
            return "[date]"

    def _read(self, match: re.Match[str]) -> tuple[dt.date | None, Callable[[dt.date], str]]:
        kind = match.lastgroup
        g = match.group
        try:
            if kind == "iso":
                sep = g("iso_s")
                return _date(g("iso_y"), g("iso_m"), g("iso_d")), lambda d: d.strftime(f"%Y{sep}%m{sep}%d")
            if kind == "da":
                return _date(g("da_y"), g("da_m"), g("da_d")), lambda d: d.strftime("%Y%m%d")
            if kind == "dmy":
                first, sep, second, year = g("dmy_a"), g("dmy_s"), g("dmy_b"), g("dmy_y")
                if int(second) > 12:  # written month first
                    return _date(year, first, second), lambda d: f"{d.month:02d}{sep}{d.day:02d}{sep}{d.year}"
                return _date(year, second, first), lambda d: f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year}"
            if kind == "dnamed":
                month = str(_MONTHS[g("dn_m").lower()])
                return _date(
                    g("dn_y"), month, g("dn_d")
                ), lambda d: f"{d.day} {calendar.month_name[d.month]} {d.year}"
            if kind == "named":
                month = str(_MONTHS[g("nd_m").lower()])
                return _date(
                    g("nd_y"), month, g("nd_d")
                ), lambda d: f"{calendar.month_name[d.month]} {d.day}, {d.year}"
        except (ValueError, KeyError):
            pass
        return None, str

    @staticmethod
    def _parse(value: str) -> dt.date | None:
        try:
            return dt.datetime.strptime(value.strip()[:8], "%Y%m%d").date()
        except ValueError:
            return None


def _date(year: str, month: str, day: str) -> dt.date:
    return dt.date(int(year), int(month), int(day))


def _worth_replacing(value: str) -> bool:
    """Whether a known value is replaced in text: not a single character, and not a short number
    (a Study ID of "12" would otherwise turn every 12 of a measurement into a token)."""
    return len(value) >= 2 and not (value.isdigit() and len(value) < MIN_NUMBER_DIGITS)
