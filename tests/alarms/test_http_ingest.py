"""Alarms and telemetry over HTTP: one path with MQTT, what each alarm did, dead letters."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from processes.schema import alarms, dead_letters, devices
from tests.processes.test_rectification import NOTICE

PROJECT = "FS-CC-2026-001"
DUST = "DUST-CC001"


def alarm(alarm_id="A-1", **over):
    body = {"project_code": PROJECT, "device_type": "dust", "device_id": DUST,
            "alarm_id": alarm_id, "type": "pm10", "level": "alarm", "value": 231.0,
            "threshold": 200.0, "at": datetime.now(timezone.utc).isoformat()}
    body.update(over)
    return body


def rectifications(api):
    return api.get("/api/v1/instances?process_key=rectification&page_size=100").get_json()


def test_an_alarm_starts_a_rectification_for_the_project_once(api, bundled):
    r = api.post("/api/v1/alarms", json=alarm(), as_user="gateway")
    assert r.status_code == 201, r.get_json()
    (raised,) = r.get_json()["alarms"]
    assert raised["effect"] == "started"
    (iid,) = raised["instances"]
    inst = api.instance(iid)
    assert inst["business_key"] == PROJECT and inst["state"] == "running"
    assert "PM10" in inst["variables"]["finding"]["description"]     # the metric in words
    again = api.post("/api/v1/alarms", json=alarm(), as_user="gateway")
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert [i["id"] for i in rectifications(api)] == [iid]
    listed = api.get("/api/v1/alarms", as_user="inspector_cc").get_json()
    assert [(a["alarm_id"], a["effect"], a["instances"]) for a in listed] == \
        [("A-1", "started", [iid])]


def test_repeat_alarms_of_a_device_join_its_running_rectification(api, bundled):
    first = api.post("/api/v1/alarms", json=alarm("A-1"), as_user="gateway").get_json()
    second = api.post("/api/v1/alarms", json=alarm("A-2"), as_user="gateway").get_json()
    assert second["alarms"][0]["effect"] == "merged"
    assert second["alarms"][0]["instances"] == first["alarms"][0]["instances"]
    assert len(rectifications(api)) == 1


def test_a_warning_is_recorded_and_starts_nothing(api, bundled):
    r = api.post("/api/v1/alarms", json=alarm(level="预警"), as_user="gateway")
    assert r.get_json()["alarms"][0]["effect"] == "recorded"
    assert rectifications(api) == []


def test_invalid_payloads_are_refused_with_reasons_and_kept(api, bundled, engine):
    cases = [
        (b"not json{", "JSON"),
        (alarm(value="high"), "value"),
        (alarm(device_id="NOPE-1"), "device_id"),
        (alarm(device_type="crane"), "topic"),
        (alarm(at="yesterday"), "at"),
        (alarm(padding="x" * 70_000), "过大"),
    ]
    for body, hint in cases:
        kw = {"data": body, "content_type": "application/json"} if isinstance(body, bytes) \
            else {"json": body}
        r = api.post("/api/v1/alarms", as_user="gateway", **kw)
        assert r.status_code == 422, (hint, r.get_json())
        text = str(r.get_json())
        assert hint in text, (hint, text)
    letters = api.get("/api/v1/dead-letters?page_size=50", as_user="admin").get_json()
    assert len(letters) == len(cases)
    assert all(letter["reason"] for letter in letters)
    with engine.db.read() as conn:
        assert conn.execute(select(alarms)).all() == []
        assert len(conn.execute(select(dead_letters)).all()) == len(cases)


def test_only_gateways_post_and_each_sees_its_own_projects(api, bundled):
    assert api.post("/api/v1/alarms", json=alarm(), as_user="contractor_gdjg").status_code == 403
    api.post("/api/v1/alarms", json=alarm(), as_user="gateway")
    assert api.get("/api/v1/alarms", as_user="inspector_nh").get_json() == []
    assert len(api.get("/api/v1/alarms", as_user="contractor_gdjg").get_json()) == 1
    assert api.get("/api/v1/dead-letters", as_user="contractor_gdjg").status_code == 403


def test_telemetry_updates_the_device_and_a_sustained_limit_raises_one_alarm(api, bundled,
                                                                            engine):
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    results = []
    for minutes in range(0, 130, 10):          # PM10 at 160 for two hours and more
        body = {"project_code": PROJECT, "device_type": "dust", "device_id": DUST,
                "at": (start + timedelta(minutes=minutes)).isoformat(),
                "readings": {"pm10": 160.0, "noise": 62.0}}
        r = api.post("/api/v1/telemetry", json=body, as_user="gateway")
        assert r.status_code == 200, r.get_json()
        results.append(r.get_json())
    raised = [a for res in results for a in res["alarms"]]
    # 1 h above 150: a warning; 2 h above 150: an alarm that starts a rectification
    assert [(a["effect"]) for a in raised] == ["recorded", "started"]
    devices_seen = api.get(f"/api/v1/devices?project_code={PROJECT}&device_type=dust",
                           as_user="inspector_cc").get_json()
    assert devices_seen[0]["latest"]["pm10"] == 160.0
    assert devices_seen[0]["state"] == "online"
    with engine.db.read() as conn:
        levels = [r.level for r in conn.execute(select(alarms).order_by(alarms.c.id))]
    assert levels == ["warning", "alarm"]
    # the same reading delivered again is one reading
    again = api.post("/api/v1/telemetry", json=body, as_user="gateway").get_json()
    assert again["duplicate"] is True


def test_a_heartbeat_keeps_a_video_device_online(api, bundled, engine):
    at = datetime.now(timezone.utc)
    r = api.post("/api/v1/telemetry", as_user="gateway", json={
        "project_code": PROJECT, "device_type": "video", "device_id": "VIDEO-CC001",
        "kind": "heartbeat", "at": at.isoformat()})
    assert r.status_code == 200, r.get_json()
    with engine.db.read() as conn:
        seen = conn.execute(select(devices.c.last_seen_at).where(
            devices.c.id == "VIDEO-CC001")).scalar()
    assert (seen if seen.tzinfo else seen.replace(tzinfo=timezone.utc)) == at   # its own time


def test_an_alarm_of_another_device_reaches_the_running_rectification(api, bundled):
    first = api.post("/api/v1/alarms", json=alarm("A-1"), as_user="gateway").get_json()
    (iid,) = first["alarms"][0]["instances"]
    other = alarm("P-1", device_type="pit", device_id="PIT-CC001", type="displacement",
                  value=27.0, threshold=25.5) if _has_pit(api) else \
        alarm("V-1", device_type="video", device_id="VIDEO-CC001", type="offline")
    r = api.post("/api/v1/alarms", json=other, as_user="gateway").get_json()
    assert (r["alarms"][0]["effect"], r["alarms"][0]["instances"]) == ("correlated", [iid])
    related = api.instance(iid)["variables"]["related_alarms"]
    assert [a["alarm_id"] for a in related] == [other["alarm_id"]]
    assert api.instance(iid)["state"] == "running"
    assert len(rectifications(api)) == 1
    # the note outlives the boundary branch: it is still there once the notice is issued
    notice = api.open_task(iid, "rect_notice", as_user="inspector_cc")
    assert api.complete(notice["id"], {**NOTICE, "deadline": "2030-01-10"},
                        as_user="inspector_cc").status_code == 200
    related = api.instance(iid)["variables"]["related_alarms"]
    assert [a["alarm_id"] for a in related] == [other["alarm_id"]]


def _has_pit(api) -> bool:
    found = api.get(f"/api/v1/devices?project_code={PROJECT}&device_type=pit").get_json()
    return bool(found)


def test_the_alarm_list_filters_by_device_type_and_project(api, bundled):
    api.post("/api/v1/alarms", json=alarm("D-1"), as_user="gateway")
    api.post("/api/v1/alarms", json=alarm("V-1", device_type="video", device_id="VIDEO-CC001",
                                          type="offline"), as_user="gateway")
    dust = api.get("/api/v1/alarms?device_type=dust", as_user="inspector_cc")
    assert dust.status_code == 200, dust.get_json()
    assert [a["alarm_id"] for a in dust.get_json()] == ["D-1"]
    assert json.loads(dust.headers["X-Pagination"])["total"] == 1
    video = api.get(f"/api/v1/alarms?device_type=video&project_code={PROJECT}",
                    as_user="inspector_cc").get_json()
    assert [a["alarm_id"] for a in video] == ["V-1"]
    assert api.get("/api/v1/alarms?device_type=dust", as_user="inspector_nh").get_json() == []
    bad = api.get("/api/v1/alarms?device_type=rain", as_user="inspector_cc")
    assert bad.status_code == 422 and "device_type" in bad.get_json()["errors"]
