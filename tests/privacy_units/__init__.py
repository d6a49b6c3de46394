"""Unit tests of the pseudonymised view's pure parts (privacy/, reading/identity.py): no servers."""
