"""The embedded default's scheduler: one daemon thread firing due timers and async service tasks
(document gates), starting the instances of due timer start events (engine.schedules) and
running other background passes (silent devices), so that `make run` keeps every deadline with
no worker or broker installed. Its interval is the settings' timer_interval. With
CELERY_BROKER_URL set, the Celery application create_app makes runs the same passes instead."""
from __future__ import annotations

import logging
import threading

from engine import schedules
from engine.timers import fire_due

log = logging.getLogger(__name__)
BATCH = 100          # timers per pass (engine.timers.fire_due's limit)
MAX_ROUNDS = 20      # full passes run back to back before the other passes get their turn


class TimerThread:
    def __init__(self, engine, interval: float = 5.0, jobs: tuple = ()):
        self.engine = engine
        self.interval = interval
        self.jobs = jobs          # further background passes, e.g. silent devices
        self.started = 0          # instances started by timer start events so far
        self._stop = threading.Event()
        self._wakeup = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jianguan-timers", daemon=True)

    def start(self) -> "TimerThread":
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the thread to stop; wait for its pass to end (up to `timeout`, default two
        intervals). True when it has stopped."""
        self._stop.set()
        self._wakeup.set()
        self._thread.join(self.interval * 2 if timeout is None else timeout)
        return not self._thread.is_alive()

    def tick(self) -> int:
        """One pass; errors are logged, never fatal (the next pass tries again)."""
        try:
            fired = self._fire_backlog()
        except Exception:   # a broken database must not kill the thread
            log.exception("timer pass failed")
            return 0
        if fired:
            log.info("fired %d timers", fired)
        try:
            schedules.sync(self.engine)
            started = schedules.fire_due(self.engine)
            self.started += started
        except Exception:
            log.exception("schedule pass failed")
        for job in self.jobs:
            try:
                job(self.engine)
            except Exception:
                log.exception("background job %s failed", getattr(job, "__name__", job))
        return fired

    def _fire_backlog(self) -> int:
        """A pass, and at once another while a pass comes back full: waiting the interval
        after each full pass capped the rate at BATCH per (pass time + interval), and under
        100 timers due per second on PostgreSQL the backlog grew for as long as they came."""
        fired = total = fire_due(self.engine, BATCH)
        for _ in range(MAX_ROUNDS - 1):
            if fired < BATCH or self._stop.is_set():
                break
            fired = fire_due(self.engine, BATCH)
            total += fired
        return total

    def wake(self, instance_id: str | None = None) -> None:
        """engine.wake in the embedded default: an async task is waiting, pass now."""
        self._wakeup.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wakeup.wait(self.interval)
            self._wakeup.clear()
            if not self._stop.is_set():
                self.tick()
