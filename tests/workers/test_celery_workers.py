"""Real Redis, real `celery worker` processes (two), real beat: timers fire once, not before
they are due (exact timing is proved on the frozen clock in test_embedded.py: these workers
read the wall clock),
a worker killed with SIGKILL mid-task loses nothing and applies nothing twice, a failing
service task is retried with back-off, becomes an incident, and a retry through the API
completes it."""
from __future__ import annotations

import os
from datetime import datetime, timezone

from sqlalchemy import select

from engine.schema import timers
from tests.waiting import wait_until
from tests.workers.conftest import deploy_test
from tests.workers.helpers import (aware, count_events, event_times, open_incidents,
                                   start_due, states)

N = 12


def test_timers_fire_once_and_not_early_with_two_workers_and_beat(api, engine, cluster):
    deploy_test(api, "due.bpmn")
    ids, due = start_due(api, 10, N)      # later than the twelve starts take
    cluster.worker("w1")
    cluster.worker("w2")
    cluster.beat()
    # besides beat's passes, a burst of concurrent passes once the timers are due
    wait_until(lambda: datetime.now(timezone.utc) >= due, 60, "the due time")
    for _ in range(10):
        cluster.send("jianguan.fire_due_timers")
    wait_until(lambda: set(states(engine, ids).values()) == {"completed"}, 60,
               "all instances completed")
    for iid in ids:
        fired = event_times(engine, iid, "timer.fired")
        assert len(fired) == 1, fired                      # once
        assert aware(fired[0]) >= due                      # never before it is due
        assert api.instance(iid)["variables"]["fired"] == 1   # the step after it ran once
    assert count_events(engine, "timer.fired") == N
    logs = cluster.log("w1") + cluster.log("w2")
    assert "Traceback" not in logs, logs[-3000:]


def test_sigkill_mid_task_loses_nothing_and_applies_nothing_twice(api, engine, cluster, markers):
    deploy_test(api, "async_slow.bpmn")
    iid = api.start("async_slow", "K-1", {}).get_json()["id"]
    first, second = cluster.worker("w1"), cluster.worker("w2")
    wait_until(lambda: _async_due(engine, iid), 30, "continuation due")
    cluster.send("jianguan.run_async_service", iid)
    entered = wait_until(lambda: [p for p in os.listdir(markers) if p.startswith("enter-")], 30,
                         "the service task to start")
    victim_pid = int(entered[0].split("-")[1])
    victim = next(n for n, p in cluster.procs.items() if p.pid == victim_pid)
    cluster.kill(victim)                               # in the middle of the transaction
    (markers / "release").write_text("go")
    wait_until(lambda: states(engine, [iid])[iid] == "completed", 60, "redelivered task")
    runs = sorted(p for p in os.listdir(markers) if p.startswith("enter-"))
    assert len(runs) == 2                             # it ran again elsewhere ...
    survivor = first if victim == "w2" else second
    inst = api.instance(iid)
    assert inst["variables"]["result"]["pid"] == survivor.pid   # ... and only that run counts
    assert len(event_times(engine, iid, "job.completed")) == 1
    assert len(event_times(engine, iid, "instance.completed")) == 1


def _async_due(engine, iid):
    with engine.db.read() as conn:
        due = conn.execute(select(timers.c.due_at).where(timers.c.instance_id == iid)).scalar()
    return due is not None and aware(due) <= datetime.now(timezone.utc)


def test_transient_failures_are_retried_with_backoff(api, engine, cluster, markers):
    deploy_test(api, "async_flaky.bpmn")
    (markers / "fail-budget").write_text("2")
    iid = api.start("async_flaky", "F-1", {}).get_json()["id"]
    cluster.worker("w1")
    wait_until(lambda: _async_due(engine, iid), 30, "continuation due")
    cluster.send("jianguan.run_async_service", iid)
    wait_until(lambda: states(engine, [iid])[iid] == "completed", 60, "completion")
    assert len([p for p in os.listdir(markers) if p.startswith("call-")]) == 3
    assert open_incidents(engine, iid) == []


def test_a_failing_service_task_becomes_an_incident_and_a_retry_completes_it(
        api, engine, cluster, markers):
    deploy_test(api, "async_flaky.bpmn")
    (markers / "down").write_text("down")
    iid = api.start("async_flaky", "F-2", {}).get_json()["id"]
    cluster.worker("w1")
    cluster.worker("w2")
    wait_until(lambda: _async_due(engine, iid), 30, "continuation due")
    cluster.send("jianguan.run_async_service", iid)
    wait_until(lambda: states(engine, [iid])[iid] == "error", 60, "incident")
    calls = [p for p in os.listdir(markers) if p.startswith("call-")]
    assert len(calls) == 4                             # first try + 3 retries with back-off
    inst = api.instance(iid)
    assert inst["state"] == "error"
    assert "service down" in inst["incidents"][0]["message"]    # visible in the API
    (markers / "down").unlink()
    r = api.post(f"/api/v1/instances/{iid}/retry")
    assert r.status_code == 200, r.get_json()
    assert api.instance(iid)["state"] == "completed"
    assert open_incidents(engine, iid) == []
