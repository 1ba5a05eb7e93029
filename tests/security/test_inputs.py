"""Issue 15, item 13: hostile input gets a clear 4xx in Chinese, never a 500; timestamps in
answers carry their time zone."""
from __future__ import annotations

import io
import re

import pytest

from processes.demo import DEMO_PASSWORD

PROJECT = "FS-CC-2026-001"
DEEP = "[" * 100_000 + "]" * 100_000
LONG_INT = "9" * 5000
ZONED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def assert_refused(r, *codes):
    assert r.status_code in (codes or (400, 422)), (r.status_code, r.get_data()[:300])
    body = r.get_json()
    assert body["code"] == r.status_code and chinese(body["message"]), body


@pytest.mark.parametrize("body", [
    DEEP,
    '{"username": ' + LONG_INT + ', "password": "x"}',
    '{"username": "admin", "password": NaN}',
    '{"username": "admin", "password": 1e999999}',
    '{"username": "admin", "password": -Infinity}',
    '{"username": "adm\\u0000in", "password": "x"}',
], ids=["deep", "long-int", "nan", "1e999999", "infinity", "nul"])
def test_the_token_endpoint_refuses_hostile_json(api, body):
    r = api.client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert_refused(r, 400, 422)


def test_every_post_refuses_deep_json_and_long_integers(api):
    posts = sorted({rule.rule.replace("<string:", "<").replace("<", "").replace(">", "")
                    for rule in api.app.url_map.iter_rules()
                    if rule.rule.startswith("/api/v1/") and "POST" in rule.methods})
    assert len(posts) > 10
    for path in posts:
        path = re.sub(r"/(task_id|instance_id|document_id|key)\b", "/x", path)
        for body in (DEEP, '{"data": {"n": ' + LONG_INT + '}}', '{"x": [1, NaN]}'):
            r = api.post(path, data=body, content_type="application/json")
            assert r.status_code < 500, (path, body[:20], r.get_data()[:200])
            assert chinese(r.get_json()["message"]), (path, r.get_json())


def test_huge_page_numbers_and_sizes_are_refused(api):
    for query in ("page=100000000000000000000", "page=10000000000&page_size=100",
                  "page_size=100000000000000000000", "page=-1", "page=1e3"):
        for path in ("/api/v1/instances", "/api/v1/tasks", "/api/v1/audit", "/api/v1/alarms"):
            r = api.get(f"{path}?{query}", as_user="admin")
            assert_refused(r, 422)
    assert_refused(api.get("/api/v1/definitions/x?version=100000000000000000000"), 422)


def test_nan_and_infinity_in_form_data_are_refused(api):
    for value in ("NaN", "Infinity", "-inf", "1e999999"):
        r = api.post("/api/v1/thresholds", as_user="designer", json=None, data={
            "device_type": "dust", "metric": "pm10", "level": "alarm", "limit": value},
            content_type="application/x-www-form-urlencoded")
        assert r.status_code in (400, 415, 422), (value, r.status_code)
        literal = "-Infinity" if value == "-inf" else value          # as JSON spells it
        r = api.post("/api/v1/thresholds", as_user="designer",
                     data='{"device_type": "dust", "metric": "pm10", "level": "alarm", '
                          f'"limit": {literal}}}', content_type="application/json")
        assert_refused(r, 400, 422)
        assert "limit" in r.get_json()["errors"], r.get_json()


def test_nul_bytes_in_names_and_text_are_refused(api, db_kind):
    r = api.post("/api/v1/definitions", as_user="designer",
                 data={"files": [(io.BytesIO(b"<x/>"), "a\x00.bpmn")]},
                 content_type="multipart/form-data")
    assert_refused(r, 400)
    assert_refused(api.get("/api/v1/instances?process_key=a%00b"), 400)
    assert_refused(api.get("/api/v1/projects?district=%00"), 400)
    r = api.post("/api/v1/instances", json={"process_key": "p\u0000", "variables": {}})
    assert_refused(r, 400)


def test_timestamps_carry_their_time_zone(api):
    api.deploy("two_lanes.bpmn")
    iid = api.start("two_lanes", PROJECT, {"project_code": PROJECT}).get_json()["id"]
    answers = [api.instance(iid), api.get("/api/v1/tasks").get_json(),
               api.get(f"/api/v1/instances/{iid}/history").get_json(),
               api.get("/api/v1/audit", as_user="auditor").get_json(),
               api.get("/api/v1/definitions").get_json()]
    seen = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and (key == "at" or key.endswith("_at")):
            seen.append((key, value))

    walk(answers)
    assert len(seen) > 5
    assert [s for s in seen if not ZONED.match(s[1])] == []
    token = api.client.post("/api/v1/auth/token",
                            json={"username": "admin", "password": DEMO_PASSWORD}).get_json()
    assert all(ZONED.match(v) for k, v in token.items() if k.endswith("_at")), token


def test_hostile_device_payloads_become_dead_letters(api):
    for body in (DEEP, '{"alarm_id": ' + LONG_INT + '}', "not json{"):
        r = api.post("/api/v1/alarms", data=body, content_type="application/json",
                     as_user="gateway")
        assert_refused(r, 422)
    letters = api.get("/api/v1/dead-letters?page_size=10", as_user="admin").get_json()
    assert len(letters) == 3 and all(chinese(letter["reason"]) for letter in letters)
    r = api.post("/api/v1/instances", data="not json{", content_type="application/json")
    assert_refused(r, 400)


def test_pages_refuse_nul_too(api):
    r = api.client.get("/verify/AB%00CD")
    assert r.status_code == 400 and chinese(r.get_data(as_text=True))
