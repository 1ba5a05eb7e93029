"""总控端 (GET /api/v1/dashboard): the figures match the data behind them, per district."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, update

from engine import schedules
from engine.clock import clock, utcnow
from processes import schema as domain
from processes.schema import cranes, devices, projects
from tests.processes.test_rectification import NOTICE, deploy_rectification
from tests.processes.test_warning_talk import deploy, finish

CC, CC2, NH = "FS-CC-2026-001", "FS-CC-2026-002", "FS-NH-2026-001"
MONDAY = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def _rectification(api, code, user):
    r = api.start("rectification", code, {"project_code": code}, as_user=user)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


@pytest.fixture
def scene(api, engine):
    """Three running rectifications (one past its reply deadline), one cancelled; a stopped
    project, a crane in service, three devices not reporting, duties of the week."""
    clock.freeze(MONDAY)
    deploy_rectification(api)
    deploy(api, bpmn=["duty_video_weekly"], forms=["duty_video", "duty_missed"])
    late = _rectification(api, CC, "inspector_cc")
    finish(api, late, "rect_notice", "inspector_cc", NOTICE)               # reply by 12-04
    _rectification(api, CC2, "inspector_cc")
    nh = _rectification(api, NH, "inspector_nh")
    finish(api, nh, "rect_notice", "inspector_nh", {**NOTICE, "deadline": "2026-12-20"})
    gone = _rectification(api, CC, "inspector_cc")
    assert api.post(f"/api/v1/instances/{gone}/cancel", json={"reason": "重复下达"}) \
        .status_code == 200
    schedules.sync(engine)
    assert schedules.fire_due(engine) == 12          # one duty per project under construction
    duty = next(t for t in api.get("/api/v1/tasks", as_user="inspector_cc").get_json()
                if t["element_id"] == "duty_video")
    assert api.complete(duty["id"], {"video_checked": True, "video_findings": "无"},
                        as_user="inspector_cc").status_code == 200
    clock.advance(timedelta(days=5))                 # 12-06: the Chancheng reply is late
    now = utcnow()
    with engine.db.write() as conn:
        conn.execute(update(projects).where(projects.c.code == "FS-SS-2026-001")
                     .values(status="停工"))
        conn.execute(update(cranes).where(cranes.c.id == "QZ-NH002-01")
                     .values(state="in_service"))
        conn.execute(update(devices).values(last_seen_at=now, state="online"))
        conn.execute(update(devices).where(devices.c.id == "DUST-CC001").values(state="offline"))
        conn.execute(update(devices).where(devices.c.id == "VIDEO-NH001")
                     .values(last_seen_at=now - timedelta(days=2)))
        conn.execute(update(devices).where(devices.c.id == "PIT-SD003")
                     .values(last_seen_at=None))
    return {"late": late, "nh": nh}


def board(api, as_user="leader", **params):
    r = api.get("/api/v1/dashboard", as_user=as_user, query_string=params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_city_figures_match_the_data(api, scene):
    data = board(api)
    assert data["district"] is None and len(data["districts"]) == 5
    projects_ = data["projects"]
    assert projects_["total"] == 12
    assert {"district": "三水区", "status": "停工", "count": 1} in projects_["by_district_status"]

    rect = data["rectifications"]
    assert (rect["open"], rect["overdue"]) == (3, 1)
    assert rect["by_district"] == [{"district": "南海区", "open": 1, "overdue": 0},
                                   {"district": "禅城区", "open": 2, "overdue": 1}]
    [late] = rect["overdue_items"]
    assert late["instance_id"] == scene["late"] and late["project_code"] == CC
    assert late["task"] == "整改并回复" and late["days_overdue"] == 1
    assert late["due_at"].startswith("2026-12-04T15:59:59")

    assert {(c["state"], c["count"]) for c in data["cranes"]["by_state"]} == {
        ("in_service", 1), ("planned", 2)}
    assert data["cranes"]["total"] == 3

    dev = data["devices"]
    assert (dev["total"], dev["offline"]) == (30, 3)
    assert {d["id"] for d in dev["offline_items"]} == {"DUST-CC001", "VIDEO-NH001", "PIT-SD003"}
    assert {t["device_type"]: t["offline"] for t in dev["by_type"]} == {
        "crane": 0, "dust": 1, "pit": 1, "video": 1}


def test_duties_agree_with_the_compliance_endpoint(api, scene):
    data = board(api)["duties"]
    items = api.get("/api/v1/duties/compliance", as_user="leader").get_json()["items"]
    expected: dict = {}
    for i in items:
        row = expected.setdefault(i["inspector"], {"done": 0, "overdue": 0, "open": 0})
        for k in row:
            row[k] += i[k]
    got = {p["inspector"]: {k: p[k] for k in ("done", "overdue", "open")}
           for p in data["by_inspector"]}
    assert got == expected and got["inspector_cc"]["done"] == 1
    cc = next(d for d in data["by_district"] if d["district"] == "禅城区")
    assert cc["done"] == 1 and cc["rate"] == 1.0


def test_district_staff_see_their_district_only(api, scene):
    data = board(api, as_user="leader_cc")
    assert data["district"] == "禅城区" and data["districts"] == ["禅城区"]
    assert data["projects"]["total"] == 3
    assert (data["rectifications"]["open"], data["rectifications"]["overdue"]) == (2, 1)
    assert data["cranes"]["total"] == 1
    assert (data["devices"]["total"], data["devices"]["offline"]) == (8, 1)
    assert data["duties"]["by_district"] == [
        {"district": "禅城区", "done": 1, "open": 2, "overdue": 0, "rate": 1.0}]
    assert api.get("/api/v1/dashboard?district=南海区", as_user="leader_cc").status_code == 403
    assert board(api, as_user="leader_cc", district="禅城区")["district"] == "禅城区"

    nanhai = board(api, as_user="leader", district="南海区")
    assert nanhai["district"] == "南海区" and nanhai["rectifications"]["open"] == 1
    assert nanhai["devices"]["offline"] == 1

    inspector = board(api, as_user="inspector_nh")
    assert inspector["district"] == "南海区"
    assert inspector["duties"]["by_inspector"] == [
        {"district": "南海区", "inspector": "inspector_nh", "done": 0, "open": 3, "overdue": 0,
         "rate": None}]


def test_roles(api):
    assert board(api, as_user="auditor")["district"] is None
    assert board(api, as_user="admin")["projects"]["total"] == 12
    for user in ("contractor_gdjg", "supervisor_hn", "designer", "expert01", "gateway"):
        assert api.get("/api/v1/dashboard", as_user=user).status_code == 403, user
    assert api.client.get("/api/v1/dashboard").status_code == 401


def test_alarms_of_the_day_and_week_by_type(api, engine):
    clock.freeze(MONDAY)
    now = utcnow()
    rows = [("a1", CC, "dust", "pm10", now - timedelta(hours=2)),
            ("a2", CC, "dust", "pm10", now - timedelta(days=3)),
            ("a3", NH, "pit", "displacement", now - timedelta(hours=20)),
            ("a4", NH, "pit", "displacement", now - timedelta(days=9))]
    with engine.db.write() as conn:
        for alarm_id, code, kind, typ, at in rows:
            conn.execute(insert(domain.alarms).values(
                device_id=f"DEV-{alarm_id}", project_code=code, device_type=kind,
                alarm_id=alarm_id, type=typ, level="alarm", value=1.0, threshold=0.5, at=at,
                received_at=at, source="http", effect="recorded", instances=[]))
    data = board(api)["alarms"]
    assert data["available"] and (data["day"], data["week"]) == (2, 3)
    assert {t["type"]: (t["day"], t["week"]) for t in data["by_type"]} == {
        "pm10": (1, 2), "displacement": (1, 1)}
    assert [a["project_code"] for a in data["recent"]] == [CC, NH, CC]
    district = board(api, as_user="leader_cc")["alarms"]
    assert (district["day"], district["week"]) == (1, 2)
