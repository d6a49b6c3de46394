"""The pseudonymised view, end to end: a canary patient (testbeds/canary) walked through real servers."""
