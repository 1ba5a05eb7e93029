"""Values kept for a few seconds per key, in one process.

For reads that are asked far more often than they change (who a token's user is, how many
tasks an inbox holds); whoever owns a Memo decides how stale its values may be.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Hashable


class Memo:
    def __init__(self, max_items: int = 5000):
        self.max_items = max_items
        self._items: dict[Hashable, tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, ttl: float, compute: Callable[[], Any],
            keep: Callable[[Any], bool] = lambda _value: True) -> Any:
        """The value kept for `key` if younger than `ttl` seconds, else `compute()` (kept
        when `keep` says so)."""
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and now - hit[1] < ttl:
            return hit[0]
        value = compute()
        with self._lock:
            if keep(value):
                if len(self._items) >= self.max_items:
                    self._items.clear()
                self._items[key] = (value, now)
            else:
                self._items.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
