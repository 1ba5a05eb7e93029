"""Recently used workflows kept in process memory, so a step does not deserialize its blob.

An entry is keyed by instance id and holds the `lock_version` its workflow was committed
with. It is used only when the row read in the step's own transaction has that same version:
any other writer (another thread, process or host) bumps the version, so a stale entry is
never used, it is just a miss.

A step *takes* its workflow out of the cache (no other thread can then see the object while
the step mutates it) and it is put back only after the transaction committed, with the new
version. A step that fails or rolls back never puts it back: a workflow changed by a failed
transaction is thrown away with it.
"""
from __future__ import annotations

import threading
from typing import NamedTuple

from cachetools import LRUCache
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow


class Entry(NamedTuple):
    version: int
    workflow: BpmnWorkflow
    waits: object = None      # the projection written with it (projection.Waits), if known


class WorkflowCache:
    def __init__(self, size: int = 1024):
        self._items: LRUCache = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, instance_id: str, lock_version: int) -> Entry | None:
        """The entry committed at `lock_version`, its workflow now owned by the caller, or
        None (an entry of another version is dropped: it can never be used again)."""
        with self._lock:
            entry = self._items.pop(instance_id, None)
            if entry is not None and entry.version == lock_version:
                self.hits += 1
                return entry
            self.misses += 1
            return None

    def holds(self, instance_id: str) -> bool:
        """Whether some version of the instance is kept (a hint: `take` decides)."""
        return instance_id in self._items

    def put(self, instance_id: str, lock_version: int, workflow: BpmnWorkflow,
            waits=None) -> None:
        """After commit: keep `workflow` as the instance's state at `lock_version` (an entry
        of a newer version, put by a transaction that committed later, stays)."""
        workflow.script_engine = None       # the step's scripts point at its closed connection
        with self._lock:
            entry = self._items.get(instance_id)
            if entry is None or entry.version < lock_version:
                self._items[instance_id] = Entry(lock_version, workflow, waits)

    def discard(self, instance_id: str) -> None:
        with self._lock:
            self._items.pop(instance_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
