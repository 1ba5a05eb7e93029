"""The embedded default (no broker): two TimerThreads racing on the same database fire every
timer on time and once, through the same passes the Celery tasks run."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from integrations.scheduler import TimerThread
from tests.workers.conftest import deploy_test, wait_for
from tests.workers.helpers import aware, count_events, event_times, start_due, states

N = 12


def test_timers_fire_on_time_and_once_with_two_embedded_schedulers(api, engine):
    deploy_test(api, "due.bpmn")
    ids, due = start_due(api, 2, N)
    threads = [TimerThread(engine, interval=0.05).start() for _ in range(2)]
    try:
        wait_for(lambda: set(states(engine, ids).values()) == {"completed"}, 30,
                 what="all instances completed")
    finally:
        for t in threads:
            t.stop()
    for iid in ids:
        fired = event_times(engine, iid, "timer.fired")
        assert len(fired) == 1
        assert due <= aware(fired[0]) <= due + timedelta(seconds=3)
        assert api.instance(iid)["variables"]["fired"] == 1
    assert count_events(engine, "timer.fired") == N
    assert datetime.now(timezone.utc) >= due
