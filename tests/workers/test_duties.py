"""履职: the weekly video duty starts one instance per project and inspector of its district;
a duty not done by the end of the week is flagged (a `duty_missed` task in the inspector's
inbox) and counted in the compliance endpoint."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from engine import schedules
from engine.clock import clock
from engine.schema import instances
from engine.timers import fire_due
from tests.processes.test_warning_talk import deploy

TUESDAY = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def test_weekly_video_duty_per_project_and_inspector_with_compliance(api, engine):
    clock.freeze(TUESDAY)
    deploy(api, bpmn=["duty_video_weekly"], forms=["duty_video", "duty_missed"])
    schedules.sync(engine)
    started = schedules.fire_due(engine)
    assert started > 0
    with engine.db.read() as conn:
        rows = conn.execute(select(instances).where(
            instances.c.process_key == "duty_video_weekly")).all()
    assert len(rows) == started
    inbox = api.get("/api/v1/tasks", as_user="inspector_cc").get_json()
    mine = [t for t in inbox if t["element_id"] == "duty_video"]
    assert mine and all(t["due_at"] for t in mine)
    first = mine[0]
    r = api.complete(first["id"], {"video_checked": True, "video_findings": "无"},
                     as_user="inspector_cc")
    assert r.status_code == 200, r.get_json()
    clock.advance(timedelta(days=7, minutes=1))
    assert fire_due(engine) >= 1
    flagged = [t for t in api.get("/api/v1/tasks", as_user="inspector_cc").get_json()
               if t["element_id"] == "duty_missed"]
    assert len(flagged) == len(mine) - 1
    body = api.get("/api/v1/duties/compliance?district=禅城区", as_user="leader_cc"
                   if _has_user(engine, "leader_cc") else "admin").get_json()
    me = [i for i in body["items"] if i["inspector"] == "inspector_cc"]
    assert me == [{"district": "禅城区", "inspector": "inspector_cc",
                   "duty": "duty_video_weekly", "done": 1, "overdue": len(mine) - 1,
                   "open": 0, "rate": round(1 / len(mine), 3)}]


def _has_user(engine, name):
    from processes.schema import users
    with engine.db.read() as conn:
        return conn.execute(select(users.c.id).where(users.c.username == name)).first() is not None
