"""Values kept for a few seconds per key, in one process (cachetools' TTL caches).

For reads that are asked far more often than they change (who a token's user is, how many
tasks an inbox holds); whoever owns a Memo decides how stale its values may be.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Hashable

from cachetools import TTLCache

_MISSING = object()


class Memo:
    def __init__(self, max_items: int = 5000):
        self.max_items = max_items
        self._caches: dict[float, TTLCache] = {}      # one per time to live
        self._lock = threading.Lock()                  # cachetools caches are not thread-safe

    def get(self, key: Hashable, ttl: float, compute: Callable[[], Any],
            keep: Callable[[Any], bool] = lambda _value: True) -> Any:
        """The value kept for `key` if younger than `ttl` seconds, else `compute()` (kept
        when `keep` says so)."""
        with self._lock:
            cache = self._caches.get(ttl)
            if cache is None:
                cache = self._caches[ttl] = TTLCache(self.max_items, ttl)
            hit = cache.get(key, _MISSING)
        if hit is not _MISSING:
            return hit
        value = compute()
        with self._lock:
            if keep(value):
                cache[key] = value
            else:
                cache.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            for cache in self._caches.values():
                cache.clear()
