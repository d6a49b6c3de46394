"""Running `dicom-mcp check` as an operator does (a subprocess of the installed command), and reading
its tables back."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbeds.service import SERVICE_LOGS, service_env
from tests.phi_scan import patient_terms

_COLUMNS = re.compile(r"\s{2,}")


@dataclass(frozen=True)
class Checked:
    """One run: exit status, what it printed, how long it took."""

    status: int
    out: str
    err: str
    seconds: float

    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.out)
        return parsed

    def row(self, name: str) -> dict[str, str]:
        """The table row of node or part `name`, by column header (the table it sits in)."""
        header: list[str] = []
        for line in self.out.splitlines():
            if line.isupper():  # a table's header
                header = _COLUMNS.split(line.strip())
            cells = _COLUMNS.split(line.strip())
            if header and cells and cells[0] == name:
                return dict(zip(["NAME", *header[1:]], cells, strict=True))
        raise AssertionError(f"no row {name!r} in:\n{self.out}")

    def problems(self) -> str:
        return self.out.split("Problems", 1)[1] if "Problems" in self.out else ""


def check_env(pacs: Mapping[str, str], **settings: str) -> dict[str, str]:
    """The environment of a check: the service's (no inherited DICOM settings), at DEBUG."""
    return service_env(pacs, **settings)


def run_check(workdir: Path, env: Mapping[str, str], *args: str) -> Checked:
    """Run `dicom-mcp check ARGS` in `workdir`; its output is searched for the data set's patients."""
    command = Path(sys.executable).with_name("dicom-mcp")  # the console script the package installs
    started = time.monotonic()
    done = subprocess.run(
        [str(command), "check", *args],
        env=dict(env),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.monotonic() - started
    log = workdir / f"check-{len(list(workdir.glob('check-*.log')))}.log"
    log.write_text(f"{done.stdout}\n{done.stderr}", encoding="utf-8")
    SERVICE_LOGS.append(log)  # searched again at the end of the run, with every other log
    leaked = sorted(term for term in patient_terms() if term in done.stdout or term in done.stderr)
    assert not leaked, f"patient data in the check's output: {leaked}"
    return Checked(done.returncode, done.stdout, done.stderr, seconds)


def write_nodes(path: Path, nodes: Mapping[str, Mapping[str, Any]]) -> Path:
    """A nodes file: {name: {key: value}}, a nested mapping as the node's TLS table."""
    lines: list[str] = []
    for name, node in nodes.items():
        lines.append(f"[nodes.{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in node.items() if not isinstance(value, Mapping)]
        for key, table in node.items():
            if isinstance(table, Mapping):
                lines.append(f"[nodes.{name}.{key}]")
                lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))
