"""DICOMweb nodes: the backend contract (echo, find, get) over QIDO-RS and WADO-RS, with httpx.

    client.py     DicomWebClient: one keep-alive connection pool per node, the per-node limit,
                  timeouts and the overall deadline, retries on 429/503, shutdown
    errors.py     HTTP failures put into the one error tree (errors.py)
    search.py     a Query as a QIDO-RS request: path, matching parameters, includefield
    dicomjson.py  DICOM JSON (PS3.18 F) to the JSON-safe values C-FIND answers use
    matching.py   DICOM wildcard matching, for values matched here rather than at the archive
    decoding.py   whether an archive percent-decodes query strings, asked once and remembered
    multipart.py  multipart/related bodies (WADO-RS instances)
    auth.py       bearer or basic credentials, read from files when a request needs them

Query values are patient data and QIDO-RS carries them in URLs: no URL, query string or body
reaches a log (httpx's own loggers are silenced in logs.py), and no message quotes them.
"""
