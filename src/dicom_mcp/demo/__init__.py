"""The sample PACS behind `dicom-mcp --demo`: a loopback-only Query/Retrieve SCP and its data set.

A separate room. The service reaches a PACS only as a client, and in that path only
`dimse/` import pynetdicom; the sample PACS is the other end, a
pynetdicom SCP, so its pynetdicom use stays here. Nothing in the service imports this package
but the command line, for `--demo`; tests use it as a fast, in-process PACS.

    data/        the deterministic synthetic data set (`sample_datasets()`)
    index.py     the in-memory hierarchy over pydicom Datasets, with computed attributes
    matching.py  DICOM's C-FIND matching rules, one key against one stored element
    find.py      identifier in, matches or instances to send out
    sending.py   the contexts proposed for C-STORE, and each instance in a syntax the peer took
    move.py      C-MOVE: the instances, by C-STORE, to a known loopback destination
    scp.py       the AE: C-ECHO, C-FIND, C-GET, C-MOVE; loopback only (`NotLoopback`)
    archive.py   the sample archive: a loopback Storage SCP to move to, which keeps nothing
    load.py      `python -m dicom_mcp.demo.load`: the data set into another PACS, by C-STORE

It is a demo and a test peer, never a PACS: it holds what it was given, in memory, and
refuses to listen, or to send, anywhere but on loopback.
"""

from dicom_mcp.demo.archive import ARCHIVE_AE_TITLE, SampleArchive, start_sample_archive
from dicom_mcp.demo.data import sample_datasets
from dicom_mcp.demo.scp import AE_TITLE, SamplePacs, check_loopback, start_sample_pacs
from dicom_mcp.errors import NotLoopback

__all__ = [
    "AE_TITLE",
    "ARCHIVE_AE_TITLE",
    "NotLoopback",
    "SampleArchive",
    "SamplePacs",
    "check_loopback",
    "sample_datasets",
    "start_sample_archive",
    "start_sample_pacs",
]
