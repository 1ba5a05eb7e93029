"""The embedded default's scheduler: one daemon thread firing due timers (and running other
background passes such as document rendering), so that `make run` keeps every deadline with no
worker or broker installed."""
from __future__ import annotations

import logging
import threading

from engine.timers import fire_due

log = logging.getLogger(__name__)


class TimerThread:
    def __init__(self, engine, interval: float = 5.0, jobs: tuple = ()):
        self.engine = engine
        self.interval = interval
        self.jobs = jobs          # further background passes, e.g. rendering requested documents
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jianguan-timers", daemon=True)

    def start(self) -> "TimerThread":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.interval * 2)

    def tick(self) -> int:
        """One pass; errors are logged, never fatal (the next pass tries again)."""
        try:
            fired = fire_due(self.engine)
        except Exception:   # a broken database must not kill the thread
            log.exception("timer pass failed")
            return 0
        if fired:
            log.info("fired %d timers", fired)
        for job in self.jobs:
            try:
                job(self.engine)
            except Exception:
                log.exception("background job %s failed", getattr(job, "__name__", job))
        return fired

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
