"""DIMSE, over pynetdicom: the only package (with the sample PACS) that imports it.

client.py       the adapter: C-ECHO, C-FIND, C-GET, C-MOVE in worker threads, per-node limits
pool.py         C-FIND associations kept for reuse; opener.py opens them within shared slots
scu/            blocking exchanges on one association (find, retrieve, responses, association)
identifiers.py  query and retrieval identifiers as bytes; wire.py the fast identifier writer
commands.py     C-FIND-RSP command sets read from their bytes (scu/responses.py uses it)
reactor.py      the process-wide set-up: quiet logging, an event-driven reactor, bounded
                PDUs read in one go; fingerprints.py: every patched or relied-on pynetdicom
                method's source, checked at start-up
acceptor.py     the loop of associations peers open to us, woken by its DUL thread
pdata.py        P-DATA-TF PDUs read without copying their values
store_rsp.py    C-STORE responses written as bytes (the receiver's and a C-GET's)
failures.py     DIMSE statuses and association outcomes put into words
tls.py          TLS contexts per node
receiver.py     the Storage SCP that takes what a C-MOVE sends to this service
waits.py        the retrievals waiting for those instances, by C-MOVE Message ID
by_move.py      which way each PACS is read (C-GET, or C-MOVE to the receiver)
"""
