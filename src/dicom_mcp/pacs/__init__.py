"""What every backend shares: the `Backend` contract and its result types, the router by protocol,
locating parent UIDs by C-FIND, slots per node (this process's and the replicas' shared ones),
byte budgets per call and per process, the named nodes file, and the failures worded alike.

Below both adapters: `dimse/` and `dicomweb/` implement the contract; `services.py` builds them.
"""
