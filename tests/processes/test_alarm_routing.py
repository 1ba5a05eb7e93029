"""Alarms are routed by the deployed decision table `alarm_routing`: a designer who deploys a
new version of the table changes what the next alarm does, with no change of code."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from engine import decisions
from processes.alarms import Envelope, ingest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = "FS-CC-2026-001"
TABLE = open(os.path.join(ROOT, "bpmn", "alarm_routing.dmn"), encoding="utf-8").read()


def alarm(alarm_id: str, device_id: str = "DUST-CC001", device_type: str = "dust", **over):
    body = {"project_code": PROJECT, "device_type": device_type, "device_id": device_id,
            "alarm_id": alarm_id, "type": "pm10", "level": "alarm", "value": 231.0,
            "threshold": 200.0, "at": datetime.now(timezone.utc).isoformat()}
    return {**body, **over}


def post(api, body) -> dict:
    r = api.post("/api/v1/alarms", json=body, as_user="gateway")
    assert r.status_code == 201, r.get_json()
    (raised,) = r.get_json()["alarms"]
    return raised


def listed(api, alarm_id: str) -> dict:
    rows = api.get("/api/v1/alarms?page_size=100", as_user="inspector_cc").get_json()
    return next(a for a in rows if a["alarm_id"] == alarm_id)


def with_rule(rule_id: str, action: str) -> bytes:
    """The bundled table with one rule's action changed, as a designer would edit it."""
    old = f'<outputEntry id="r_{rule_id}_action"><text>'
    start = TABLE.index(old) + len(old)
    end = TABLE.index("</text>", start)
    return (TABLE[:start] + json.dumps(action, ensure_ascii=False) + TABLE[end:]).encode()


def deploy_table(api, content: bytes) -> int:
    r = api.deploy(files={"alarm_routing.dmn": content})
    assert r.status_code == 201, r.get_json()
    (deployed,) = [d for d in r.get_json()["deployed"] if d["key"] == "alarm_routing"]
    return deployed["version"]


def test_the_bundled_table_routes_warnings_alarms_repeats_and_danger(api, bundled):
    warning = post(api, alarm("W-1", level="warning"))
    assert (warning["effect"], warning["instances"]) == ("recorded", [])
    started = post(api, alarm("A-1"))
    assert started["effect"] == "started"
    assert post(api, alarm("A-2"))["effect"] == "merged"
    danger = post(api, alarm("P-1", device_id="PIT-CC002", device_type="pit",
                             project_code="FS-CC-2026-002", type="displacement",
                             level="danger", value=31.0, threshold=30.0))
    assert danger["effect"] == "started"
    shown = listed(api, "A-1")
    assert (shown["action"], shown["deadline_hours"], shown["decision_version"]) == \
        ("rectification", 24, 1)
    assert listed(api, "W-1")["action"] == "record"
    assert listed(api, "A-2")["action"] == "merge"
    assert api.instance(started["instances"][0])["variables"]["alarm"]["route"] == \
        {"action": "rectification", "deadline_hours": 24, "version": 1}


def test_a_new_table_version_changes_the_route_of_the_next_alarm(api, bundled):
    assert post(api, alarm("W-1", level="warning"))["effect"] == "recorded"
    version = deploy_table(api, with_rule("warning", "rectification"))
    assert version == 2
    now = post(api, alarm("W-2", level="warning"))
    assert now["effect"] == "started"
    inst = api.instance(now["instances"][0])
    assert inst["process_key"] == "rectification" and inst["business_key"] == PROJECT
    shown = listed(api, "W-2")
    assert (shown["action"], shown["decision_version"]) == ("rectification", 2)
    assert listed(api, "W-1")["effect"] == "recorded"        # what happened stays as it was


def test_a_table_may_send_an_alarm_to_a_warning_talk(api, bundled):
    deploy_table(api, with_rule("alarm", "warning_talk"))
    raised = post(api, alarm("A-1"))
    assert raised["effect"] == "started"
    inst = api.instance(raised["instances"][0])
    assert inst["process_key"] == "warning_talk" and inst["business_key"] == PROJECT
    assert inst["variables"]["alarm"]["alarm_id"] == "A-1"


def test_an_unknown_action_is_kept_as_failed_with_the_reason(api, bundled):
    deploy_table(api, with_rule("alarm", "evacuate"))
    raised = post(api, alarm("A-1"))
    assert (raised["effect"], raised["instances"]) == ("failed", [])
    assert "evacuate" in raised["note"] and "未知的处置方式" in raised["note"]
    assert api.get("/api/v1/instances?process_key=rectification").get_json() == []


def test_without_a_deployed_table_an_alarm_fails_with_a_clear_reason(api, engine):
    raised = post(api, alarm("A-1"))
    assert raised["effect"] == "failed"
    assert "alarm_routing" in raised["note"] and "未部署" in raised["note"]


@pytest.fixture
def counted(monkeypatch):
    calls = {"evaluate": 0, "parse": 0}
    evaluate, parse = decisions.evaluate, decisions._parse

    def counting_evaluate(*args, **kwargs):
        calls["evaluate"] += 1
        return evaluate(*args, **kwargs)

    def counting_parse(*args, **kwargs):
        calls["parse"] += 1
        return parse(*args, **kwargs)
    monkeypatch.setattr(decisions, "evaluate", counting_evaluate)
    monkeypatch.setattr(decisions, "_parse", counting_parse)
    decisions._parsed.clear()
    return calls


def test_a_batch_evaluates_the_table_once_per_distinct_facts(api, bundled, counted):
    engine = bundled
    batch = [Envelope("http", raw=json.dumps(alarm(f"W-{i}", level="warning")), kind="alarm")
             for i in range(40)]
    batch += [Envelope("http", raw=json.dumps(alarm(f"V-{i}", device_id="VIDEO-CC001",
                                                    device_type="video", type="offline")),
                       kind="alarm") for i in range(10)]
    outcomes = ingest(engine, batch)
    effects = [o.alarms[0]["effect"] for o in outcomes]
    assert effects[:40] == ["recorded"] * 40
    assert effects[40] == "started" and set(effects[41:]) == {"merged"}
    # warnings: one set of facts; video: before and after its rectification was opened
    assert counted["evaluate"] == 3 and counted["parse"] == 1
    ingest(engine, [Envelope("http", raw=json.dumps(alarm("W-99", level="warning")),
                             kind="alarm")])
    assert counted["parse"] == 1                 # the same version is not parsed again


def test_a_warning_talk_an_alarm_started_is_not_a_rectification_to_merge_into(api, bundled):
    deploy_table(api, with_rule("alarm", "warning_talk"))
    engine = bundled
    batch = [Envelope("http", raw=json.dumps(alarm(f"A-{i}")), kind="alarm") for i in range(2)]
    first, second = (o.alarms[0] for o in ingest(engine, batch))
    assert first["effect"] == "started" and second["effect"] == "started"
    assert first["instances"] != second["instances"]
