"""What the process (or all replicas, through Redis) remembers: DICOM sessions and their store,
rate and session limits, shared association slots, sliding windows, the Redis link, and the
activity the HTTP layer drains at shutdown.
"""
