"""Timer start events: the platform starts one fresh instance per period (per fan-out target),
with the start event fired once, exactly once even with two schedulers racing."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from engine import schedules
from engine.clock import clock
from engine.schema import audit_events, instances
from engine.schema import schedules as schedule_rows
from integrations.scheduler import TimerThread
from tests.waiting import wait_until
from tests.workers.conftest import deploy_test
from tests.workers.helpers import aware
from tests.workers.ops import register_targets, targets

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
    scheduler = TimerThread(engine)
    scheduler.tick()
    assert scheduler.started == 2                         # the embedded pass starts the week
    assert len(weekly_instances(engine)) == 4
    clock.advance(timedelta(days=21))                      # three weeks with nobody running
    assert schedules.fire_due(engine) == 2                 # the current week once, no catch-up
    assert schedules.fire_due(engine) == 0


class HeldFanOut:
    """`test.targets` that, once called (the caller has claimed the due period and is inside
    its transaction), holds until the test lets it go, noting which scheduler came in and
    its database session."""

    def __init__(self):
        self.entered: list[tuple[str, int]] = []
        self.go = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, ctx) -> list:
        pid = ctx.conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with self._lock:
            self.entered.append((threading.current_thread().name, pid))
        assert self.go.wait(60), "the test never let the scheduler go on"
        return targets(ctx)


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_two_schedulers_racing_on_postgresql_start_each_period_once(api, engine, tmp_path):
    """Two schedulers with their own connection pools (as two worker processes have) are
    released together at a due period. While the first holds the period (inside its
    transaction, in the fan-out call), the second makes its pass: it skips the claimed row
    or waits for it. Then the first goes on. One firing, one instance per target."""
    from app import create_app

    clock.freeze(TUESDAY)
    other_app = create_app({"DATABASE_URL": engine.db.url, "SECRET_KEY": "test-secret",
                            "VAR_DIR": str(tmp_path / "var-2"), "TESTING": True})
    other = other_app.extensions["jianguan.engine"]
    held = HeldFanOut()
    for eng in (engine, other):
        eng.services.register("test.targets", held)
    deploy_test(api, "weekly.bpmn")
    assert schedules.sync(engine) == 1                     # due now: the current week

    schedulers = {"scheduler-1": TimerThread(engine), "scheduler-2": TimerThread(other)}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        barrier.wait()
        schedulers[name].tick()

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in schedulers]
    try:
        for t in threads:
            t.start()
        first, holder_pid = wait_until(lambda: list(held.entered), 30,
                                       "a scheduler to claim the due period")[0]
        second = next(name for name in schedulers if name != first)
        second_thread = next(t for t in threads if t.name == second)

        def blocked_by_holder() -> bool:
            with engine.db.read() as conn:
                return conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE :holder = ANY(pg_blocking_pids(pid))"), {"holder": holder_pid}
                ).scalar_one() > 0
        # the race proper: the second pass runs while the first holds the period
        wait_until(lambda: len(held.entered) > 1 or not second_thread.is_alive()
                   or blocked_by_holder(), 30,
                   f"{second} to pass over, or wait for, the period {first} holds")
        held.go.set()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    finally:
        held.go.set()
        other.close()

    assert [name for name, _ in held.entered] == [first]       # one fan-out for the period
    assert (schedulers[first].started, schedulers[second].started) == (2, 0)
    assert sorted(r.business_key for r in weekly_instances(engine)) == ["P-A", "P-B"]
    with engine.db.read() as conn:
        fired = conn.execute(select(func.count()).select_from(audit_events)
                             .where(audit_events.c.kind == "schedule.fired")).scalar_one()
        row = conn.execute(select(schedule_rows).where(
            schedule_rows.c.process_key == "weekly")).one()
    assert fired == 1 and row.fired_count == 1
    assert aware(row.next_due_at) == datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
