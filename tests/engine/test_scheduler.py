"""The embedded scheduler fires what is due through the same code path as a worker."""
from __future__ import annotations

from datetime import timedelta

from engine.clock import clock
from integrations.scheduler import TimerThread


def test_a_scheduler_pass_fires_a_due_boundary_timer(api, engine):
    api.deploy("timers.bpmn")
    iid = api.start("timers", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001",
                                                 "deadline": "P2D"}).get_json()["id"]
    scheduler = TimerThread(engine)
    assert scheduler.tick() == 0
    clock.advance(timedelta(days=3, minutes=1))
    assert scheduler.tick() == 2          # the reminder and the deadline
    assert [t["element_id"] for t in api.instance(iid)["tasks"]] == ["escalate"]
    assert scheduler.tick() == 0


def test_background_jobs_run_each_pass_and_a_failing_one_does_not_stop_the_others(engine):
    seen = []

    def broken(_engine):
        raise RuntimeError("渲染服务不可用")

    scheduler = TimerThread(engine, jobs=(broken, lambda e: seen.append(e)))
    scheduler.tick()
    scheduler.tick()
    assert seen == [engine, engine]
