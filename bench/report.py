"""The bench's output: one table of measurements, each with its baseline, ratio and target."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    """One line of the table; `ratio` is measured / baseline (or baseline / measured for rates)."""

    what: str
    measured: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    holds: bool | None = None


@dataclass
class Report:
    """Rows grouped under section titles, plus free notes printed after the table."""

    sections: list[tuple[str, list[Row]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def section(self, title: str) -> list[Row]:
        """The rows under `title` (new or existing); sections print in title order (a., b., ...)."""
        for existing, rows in self.sections:
            if existing == title:
                return rows
        rows = []
        self.sections.append((title, rows))
        return rows

    def render(self) -> str:
        header = ("measurement", "measured", "baseline (same run)", "ratio", "target", "")
        lines: list[tuple[str, ...]] = []
        for title, rows in sorted(self.sections, key=lambda section: section[0]):
            lines.append((title,))
            for row in rows:
                verdict = "" if row.holds is None else ("holds" if row.holds else "MISSED")
                ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
                lines.append(("  " + row.what, row.measured, row.baseline, ratio, row.target, verdict))
        columns = [header, *(line for line in lines if len(line) > 1)]  # titles print alone, over them
        widths = [max(len(line[i]) for line in columns) for i in range(len(header))]
        out = [_format(header, widths), _format(tuple("-" * w for w in widths), widths)]
        for line in lines:
            out.append(line[0] if len(line) == 1 else _format(line, widths))
        out += ["", *self.notes]
        return "\n".join(out)


def _format(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def change(kib: float) -> str:
    """A change in memory, signed."""
    return f"{kib / 1024:+.1f} MiB"
