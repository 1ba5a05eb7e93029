"""The embedded default (no broker): two TimerThreads racing on the same database fire every
timer once, in their first pass after its due time and in none before, through the same passes
the Celery tasks run. The engine clock is frozen (the threads run in this process and read
it), so "on time" is exact: the firing carries the first instant after the due time."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

from engine.clock import clock
from integrations.scheduler import TimerThread
from tests.waiting import wait_until
from tests.workers.conftest import deploy_test
from tests.workers.helpers import aware, count_events, event_times, start_due, states

N = 12
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
TICK = timedelta(milliseconds=1)


def test_timers_fire_on_time_and_once_with_two_embedded_schedulers(api, engine):
    deploy_test(api, "due.bpmn")
    clock.freeze(T0)
    ids, due = start_due(api, 1, N, now=T0)
    passes, lock = Counter(), threading.Lock()

    def counter(name: str):
        def count_pass(_engine) -> None:          # runs at the end of each of its passes
            with lock:
                passes[name] += 1
        return count_pass
    threads = [TimerThread(engine, interval=0.02, jobs=(counter(name),)).start()
               for name in ("a", "b")]
    try:
        # a second before the due time both schedulers make passes and fire nothing
        wait_until(lambda: min(passes["a"], passes["b"]) >= 3, 30,
                   "three passes of each scheduler before the due time")
        assert set(states(engine, ids).values()) == {"running"}
        assert count_events(engine, "timer.fired") == 0
        clock.freeze(due + TICK)           # SpiffWorkflow fires a timer once it is past due
        wait_until(lambda: set(states(engine, ids).values()) == {"completed"}, 30,
                   "all instances completed")
    finally:
        stopped = [t.stop(timeout=30) for t in threads]
    assert all(stopped)
    for iid in ids:
        assert [aware(at) for at in event_times(engine, iid, "timer.fired")] == [due + TICK]
        assert api.instance(iid)["variables"]["fired"] == 1
    assert count_events(engine, "timer.fired") == N
    assert due == T0 + timedelta(seconds=1)
