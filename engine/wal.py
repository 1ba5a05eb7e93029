"""SQLite's WAL checkpoints on a thread of their own, not inside a step's commit.

By default the commit that takes the write-ahead log past 1,000 pages copies the log back into
the database file and syncs it: one step in fifty waited about 4 ms for that, which was two
fifths of all the time spent committing (measured on bench/engine.py). Here the writers'
connections checkpoint only as a backstop (BACKSTOP_PAGES, should this thread fall behind or
have died), and a thread per process runs a PASSIVE checkpoint every INTERVAL seconds on its
own connection. PASSIVE never blocks readers or writers; when another process's checkpoint
is running it is simply skipped. With synchronous=NORMAL the checkpoint is where the database
file is synced, so durability is as before: a commit is in the log, the log is synced at each
checkpoint. The thread ends after IDLE_SECONDS without a write and the next write starts it
again, so a process that stopped writing (or a test's database left open) costs nothing.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from urllib.parse import quote

BACKSTOP_PAGES = 10_000      # about 40 MB of log; the default is 1,000
INTERVAL = 0.2               # seconds between checkpoints while the process writes
IDLE_SECONDS = 5.0

log = logging.getLogger(__name__)


class Checkpointer:
    """Checkpoints one database file from a daemon thread started on the first write of a
    process (a process forked after that starts its own)."""

    def __init__(self, path: str, interval: float = INTERVAL,
                 idle_seconds: float = IDLE_SECONDS):
        self.path = path
        self.interval = interval
        self.idle_seconds = idle_seconds
        self.writes = 0
        self.runs = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def ensure_running(self) -> None:
        """Called by every write transaction."""
        self.writes += 1
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._stop.is_set() or (self._thread is not None and self._pid == os.getpid()):
                return
            self._pid = os.getpid()
            # the thread holds the checkpointer weakly: a Database dropped without dispose()
            # does not keep a thread alive
            self._thread = threading.Thread(target=_loop, args=(weakref.ref(self), self._stop),
                                            name="sqlite-checkpoint", daemon=True)
            self._thread.start()

    def _idle_exit(self, seen_writes: int) -> bool:
        """The thread's end when nothing was written since `seen_writes` (a write racing it
        is checkpointed by the thread the next write starts, or by the backstop)."""
        with self._lock:
            if self.writes != seen_writes:
                return False
            self._thread = None
            return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, frames in the log, frames copied to the file)."""
        # mode=rw: a database file removed meanwhile is an error here, not a new empty file
        conn = sqlite3.connect(f"file:{quote(self.path)}?mode=rw", uri=True, timeout=0)
        try:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()
        self.runs += 1
        return busy, frames, copied

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)


def _loop(ref: weakref.ref, stop: threading.Event) -> None:
    state = {"seen": -1, "idle": 0.0}
    while not stop.wait(_interval(ref)):
        checkpointer = ref()           # held only for the round: see ensure_running
        if checkpointer is None or not _round(checkpointer, state):
            return
        del checkpointer


def _round(checkpointer: Checkpointer, state: dict) -> bool:
    """One wake-up: a checkpoint when something was written since the last; False to end."""
    if checkpointer.writes == state["seen"]:
        state["idle"] += checkpointer.interval
        return not (state["idle"] >= checkpointer.idle_seconds
                    and checkpointer._idle_exit(state["seen"]))
    state["seen"], state["idle"] = checkpointer.writes, 0.0
    try:
        checkpointer.run_once()
    except sqlite3.Error as exc:           # locked or busy: the next round (or the backstop)
        log.debug("checkpoint skipped: %s", exc)
    return True


def _interval(ref: weakref.ref) -> float:
    checkpointer = ref()
    return INTERVAL if checkpointer is None else checkpointer.interval
