"""`dicom-mcp check`: can this service reach its PACS, and what do they offer? Reads no patient data.

run.py         the command: settings, every node and part checked at once, the exit status
reach.py       name resolution, TCP connection, TLS handshake and the certificate's end
dimse_rows.py  a DIMSE node, probed by dimse/probe.py, judged by what the service needs of it
web_rows.py    a DICOMweb node, probed by dicomweb/probe.py, judged likewise
parts.py       the nodes file, the session store, API keys, the OAuth JWKS, the pseudonym key
cells.py       what was found, as data: a cell per step, a row per node or part
report.py      the tables and the problems in words, or one JSON document (--json)
"""

from dicom_mcp.check.run import command

__all__ = ["command"]
