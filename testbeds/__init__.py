"""Test beds shared by tests/ and bench/: real servers started on free loopback ports, and fakes for faults.

    pacs/       the synthetic data set, Orthanc and DCMTK dcmqrscp (pacs.common: their plumbing)
    redis.py    a real redis-server that can be stopped, paused and restarted in place
    faults.py   an in-process pynetdicom SCP that refuses, hangs, trickles, aborts or fails
    netdelay.py a relay that delays every byte: a PACS across a network
    service.py  the real service (`python -m dicom_mcp`) as a subprocess
    clients.py  MCP clients for it (HTTP modern and legacy, SSE, stdio) and call helpers
    net.py      free ports, and connections counted from /proc/net/tcp
    poll.py     waiting for a condition with a deadline
    bombs/      hostile DICOM instances, small on disk and huge when read, generated at test time
    hostile_pacs.py, hostile_web.py  a Q/R SCP and a DICOMweb archive that send what a test hands them
    watch.py    a service's memory, stalls and time to answer, watched while hostile calls run

Not part of the shipped package (setuptools finds packages under src/ only). The pytest
fixtures over these beds live in tests/fixtures.py.
"""
