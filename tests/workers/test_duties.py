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
CC1, CC2, CC3 = "FS-CC-2026-001", "FS-CC-2026-002", "FS-CC-2026-003"


def test_weekly_video_duty_per_project_and_inspector_with_compliance(api, engine):
    clock.freeze(TUESDAY)
    deploy(api, bpmn=["duty_video_weekly"], forms=["duty_video", "duty_missed"])
    schedules.sync(engine)
    started = schedules.fire_due(engine)
    # the demo's 12 projects are all under construction; each district has one inspector
    assert started == 12
    with engine.db.read() as conn:
        rows = conn.execute(select(instances).where(
            instances.c.process_key == "duty_video_weekly")).all()
    assert len(rows) == started and len({r.business_key for r in rows}) == 12
    inbox = api.get("/api/v1/tasks", as_user="inspector_cc").get_json()
    mine = [t for t in inbox if t["element_id"] == "duty_video"]
    assert sorted(t["business_key"] for t in mine) == [CC1, CC2, CC3]   # 禅城区's projects
    assert {t["due_at"] for t in mine} == {"2026-12-08T02:00:00+00:00"}  # within the week
    first = mine[0]
    r = api.complete(first["id"], {"video_checked": True, "video_findings": "无"},
                     as_user="inspector_cc")
    assert r.status_code == 200, r.get_json()
    clock.advance(timedelta(days=7, minutes=1))
    assert fire_due(engine) == started - 1               # every duty not done, city-wide
    flagged = [t for t in api.get("/api/v1/tasks", as_user="inspector_cc").get_json()
               if t["element_id"] == "duty_missed"]
    assert sorted(t["business_key"] for t in flagged) == sorted(
        t["business_key"] for t in mine[1:])
    body = api.get("/api/v1/duties/compliance?district=禅城区", as_user="leader_cc").get_json()
    assert body["items"] == [{"district": "禅城区", "inspector": "inspector_cc",
                              "duty": "duty_video_weekly", "done": 1, "overdue": 2,
                              "open": 0, "rate": 0.333}]
