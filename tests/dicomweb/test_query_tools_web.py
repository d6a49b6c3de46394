"""The shared query cases (tests/tools/test_query_tools.py), unchanged, against Orthanc over DICOMweb.

`tools_client` (conftest.py) points every call at the `web` node, so each case must give over
QIDO-RS the answer it gives over C-FIND.
"""

from __future__ import annotations

from tests.tools.test_query_tools import *  # noqa: F403  (the cases themselves)
