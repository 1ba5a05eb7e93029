"""The one source of time. Production reads the wall clock; tests move it forward.

SpiffWorkflow's timer module calls `datetime.now(timezone.utc)` itself, so that module's
`datetime` name is pointed at a subclass that asks this clock: timers fixed and fired by the
engine and by spiff agree on what time it is.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.now(timezone.utc) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move time forward for everything that asks this clock (tests, demos)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta

    def freeze(self, at: datetime | None = None) -> None:
        self._frozen = (at or self.now()).astimezone(timezone.utc)

    def reset(self) -> None:
        self._offset, self._frozen = timedelta(0), None


clock = Clock()


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D401 - same signature as datetime.now
        current = clock.now()
        return current.astimezone(tz) if tz is not None else current.astimezone().replace(tzinfo=None)

    @classmethod
    def utcnow(cls):
        return clock.now().replace(tzinfo=None)


def install_spiff_clock() -> None:
    from . import spiff

    spiff.install_timer_clock(_ClockDatetime)


def utcnow() -> datetime:
    return clock.now()
