"""The reverse map of pseudonyms (token -> original, per principal), in memory or in Redis.

Built from the same URL as the session store (DICOM_MCP_SESSION_STORE): with Redis, every
replica resolves the tokens any of them minted, and `dicom-mcp reidentify` can read them.
"""

from __future__ import annotations

from dicom_mcp.state.pseudonyms.memory import MemoryTokenMap
from dicom_mcp.state.pseudonyms.redis import RedisTokenMap
from dicom_mcp.state.pseudonyms.store import Original, TokenMap
from dicom_mcp.state.redis_link import is_redis

__all__ = ["MemoryTokenMap", "Original", "RedisTokenMap", "TokenMap", "build_token_map"]


def build_token_map(url: str, ttl: float, max_entries: int) -> TokenMap:
    """The map the store URL names: `redis://…` (or `rediss://…`) shares it, anything else keeps it here.

    `max_entries` bounds the memory map only; Redis bounds itself (`maxmemory`).
    """
    if is_redis(url):
        return RedisTokenMap(url, ttl)
    return MemoryTokenMap(ttl, max_entries)
