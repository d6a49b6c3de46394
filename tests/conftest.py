"""Suite-wide fixtures: async tests (marked anyio) run on asyncio; the real PACS beds come from tests.pacs."""

from __future__ import annotations

import pytest

# pytest_plugins = ["tests.pacs.fixtures"]  (enabled once the beds land)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
