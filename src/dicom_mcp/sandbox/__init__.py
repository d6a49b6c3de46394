"""Parsing what a PACS sent, in worker processes that can be stopped: the sandbox.

Headers, reports and pictures are made from retrieved instances by pure functions (`reading/`,
`reading/pictures.py`), but what they parse is untrusted: a PDF that draws one form a thousand
times, an SR of a million items, a codestream that asks for gigabytes. Each job therefore runs
in a separate process (`worker.py`), never on the event loop nor under the service's GIL:

- a hard deadline per job (DICOM_MCP_PARSE_TIMEOUT): past it the worker is killed, mid-page if
  need be, and the job fails with a clear error;
- a memory ceiling per worker (DICOM_MCP_PARSE_MAX_MEMORY, its address space): a job that needs
  more fails, and the worker is replaced;
- at most DICOM_MCP_PARSE_WORKERS jobs at once, the one limit on CPU-heavy reading work.

Parent and worker exchange frames of JSON and raw bytes over pipes (`frames.py`), never pickles:
a worker that a hostile file took over could otherwise attack the service through its answer.
`jobs.py` is what runs inside; `client.py` is the service's side.
"""

from dicom_mcp.sandbox.client import Expected, Sandbox, SandboxConfig

__all__ = ["Expected", "Sandbox", "SandboxConfig"]
