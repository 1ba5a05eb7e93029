"""Timer start events: the platform starts one fresh instance per period (per fan-out target),
with the start event fired once, exactly once even with two schedulers racing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from engine import schedules
from engine.clock import clock
from engine.schema import instances
from integrations.scheduler import TimerThread
from tests.workers.conftest import deploy_test
from tests.workers.ops import register_targets

TUESDAY = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def weekly_instances(engine):
    with engine.db.read() as conn:
        return conn.execute(select(instances).where(instances.c.process_key == "weekly")
                            .order_by(instances.c.started_at)).all()


def test_a_weekly_timer_start_starts_one_instance_per_target_per_week(api, engine):
    clock.freeze(TUESDAY)
    register_targets(engine.services)
    deploy_test(api, "weekly.bpmn")
    assert schedules.sync(engine) == 1
    assert schedules.sync(engine) == 0                    # nothing new deployed
    # the current week (began Monday 09:00 Beijing) starts at once, then every 7 days
    assert schedules.fire_due(engine) == 2
    assert schedules.fire_due(engine) == 0
    rows = weekly_instances(engine)
    assert sorted(r.business_key for r in rows) == ["P-A", "P-B"]
    for r in rows:
        inst = api.instance(r.id)
        assert [t["element_id"] for t in inst["tasks"]] == ["look"]     # one branch only
        assert inst["waiting"] == []                                     # no start timer left
        assert inst["variables"]["period_start"] == "2026-11-30T01:00:00+00:00"
    clock.advance(timedelta(days=5, hours=22))   # Monday 00:00 UTC
    assert schedules.fire_due(engine) == 0                # Monday 01:00 not yet reached
    clock.advance(timedelta(hours=1, minutes=1))
    two = [TimerThread(engine), TimerThread(engine)]
    for t in two:
        t.tick()
    assert sum(t.started for t in two) == 2               # two schedulers, started once
    assert len(weekly_instances(engine)) == 4
    clock.advance(timedelta(days=21))                      # three weeks with nobody running
    assert schedules.fire_due(engine) == 2                 # the current week once, no catch-up
    assert schedules.fire_due(engine) == 0
