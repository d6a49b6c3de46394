"""A sandbox worker process: `python -m dicom_mcp.sandbox.worker MAX_MEMORY_BYTES`.

Reads job frames on stdin and answers each on stdout, one at a time, until stdin closes. Its
address space is capped (RLIMIT_AS) before anything is parsed; a job that runs out of memory is
answered as such and the worker exits, so the service starts a clean one. Nothing is logged:
what it parses is patient data, and its stderr goes nowhere.
"""

from __future__ import annotations

import logging
import resource
import sys
from typing import Any

from dicom_mcp.sandbox import frames

MEMORY: str = "memory"


def main(argv: list[str]) -> int:
    max_memory = int(argv[1]) if len(argv) > 1 else 0
    if max_memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
    logging.disable(logging.CRITICAL)  # pydicom and pypdf may quote what they parse
    from pydicom import config as pydicom_config  # noqa: PLC0415 - after the cap, as below

    from dicom_mcp.reading.decoders import put_gdcm_last  # noqa: PLC0415 - as below
    from dicom_mcp.sandbox import jobs  # noqa: PLC0415 - imported after the cap: its libraries count against it

    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    put_gdcm_last()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    frames.write(stdout, {"ready": True})
    while True:
        message = frames.read(stdin)
        if message is None:
            return 0
        job, payload = message
        answer, body, done = _answer(jobs, job, payload)
        frames.write(stdout, answer, body)
        if done:
            return 0


def _answer(jobs: Any, job: dict[str, Any], payload: bytes) -> tuple[dict[str, Any], bytes, bool]:
    """The frame answering `job`, and whether the worker must stop after it."""
    try:
        blobs, position = [], 0
        for size, syntax in job.get("blobs", []):
            blobs.append((payload[position : position + int(size)], str(syntax)))
            position += int(size)
        del payload
        outcome = jobs.run(job, blobs)
        return {"ok": True, "result": outcome.result}, outcome.payload, False
    except jobs.JobFailed as exc:
        return {"ok": False, "kind": exc.kind, "message": str(exc)}, b"", False
    except MemoryError:
        return {"ok": False, "kind": MEMORY, "message": ""}, b"", True


if __name__ == "__main__":
    sys.exit(main(sys.argv))
