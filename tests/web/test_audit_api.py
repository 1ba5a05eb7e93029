"""审计检索 (GET /api/v1/audit), 审计链校验 (/audit/verify) and the CSV export, with scope."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from engine.clock import clock

CC, NH = "FS-CC-2026-001", "FS-NH-2026-001"
# 2026-12-01 17:30 UTC is already 12-02 01:30 in Foshan: date bounds are days in China time
EVENING_UTC = datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc)


def _trail(api) -> dict:
    """Deploy (12-01 evening UTC), one instance per district (12-01 / 12-03) and a task."""
    clock.freeze(EVENING_UTC)
    assert api.deploy("two_lanes.bpmn").status_code == 201
    cc = api.start("two_lanes", CC, {"project_code": CC}, as_user="inspector_cc").get_json()["id"]
    clock.advance(timedelta(days=2))
    nh = api.start("two_lanes", NH, {"project_code": NH}, as_user="inspector_nh").get_json()["id"]
    task = api.open_task(cc, "draft", "inspector_cc")
    assert api.complete(task["id"], {"note": "=HYPERLINK(\"x\")"}, as_user="inspector_cc") \
        .status_code == 200
    return {"cc": cc, "nh": nh}


def search(api, as_user="auditor", **params):
    r = api.get("/api/v1/audit", as_user=as_user, query_string=params)
    assert r.status_code == 200, r.get_json()
    return r


def kinds(r) -> list[tuple[str, str]]:
    return [(e["kind"], e["business_key"]) for e in r.get_json()]


def test_search_filters_and_pages(api):
    ids = _trail(api)
    everything = search(api, page_size=100)
    events = everything.get_json()
    assert [e["seq"] for e in events] == sorted((e["seq"] for e in events), reverse=True)
    assert [e["kind"] for e in events] == ["task.completed", "instance.started",
                                           "instance.started", "definition.deployed"]
    first = events[0]
    assert first["process_key"] == "two_lanes" and first["instance_id"] == ids["cc"]
    assert len(first["hash"]) == 64 and first["details"]["data"]["note"].startswith("=")

    assert kinds(search(api, business_key=CC)) == [("task.completed", CC),
                                                   ("instance.started", CC)]
    assert kinds(search(api, actor="inspector_nh")) == [("instance.started", NH)]
    assert len(search(api, process_key="two_lanes").get_json()) == 3
    assert kinds(search(api, kind="instance.started", order="asc")) == [
        ("instance.started", CC), ("instance.started", NH)]
    assert len(search(api, kind="instance.").get_json()) == 2
    assert search(api, kind="task.completed").get_json()[0]["task_id"]

    # the first three events are on 12-02 in China time, the rest on 12-04
    assert len(search(api, **{"from": "2026-12-02", "to": "2026-12-02"}).get_json()) == 2
    assert len(search(api, **{"to": "2026-12-01"}).get_json()) == 0
    assert len(search(api, **{"from": "2026-12-04"}).get_json()) == 2
    assert len(search(api, **{"from": "2026-12-03T17:00:00Z"}).get_json()) == 2

    page = search(api, page_size=1, page=2)
    assert json.loads(page.headers["X-Pagination"])["total"] == 4
    assert page.get_json()[0]["kind"] == "instance.started"


def test_bad_query_parameters_are_422(api):
    r = api.get("/api/v1/audit?from=yesterday", as_user="auditor")
    assert r.status_code == 422 and "from" in r.get_json()["errors"]
    r = api.get("/api/v1/audit?from=2026-12-05&to=2026-12-01", as_user="auditor")
    assert r.status_code == 422
    assert api.get("/api/v1/audit?order=up", as_user="auditor").status_code == 422


def test_roles_and_district_scope(api):
    _trail(api)
    for user in ("contractor_gdjg", "supervisor_hn", "inspector_cc", "designer", "gateway"):
        assert api.get("/api/v1/audit", as_user=user).status_code == 403, user
        assert api.get("/api/v1/audit/verify", as_user=user).status_code == 403, user
        assert api.get("/api/v1/audit.csv", as_user=user).status_code == 403, user
    assert api.client.get("/api/v1/audit").status_code == 401
    city = search(api, as_user="leader", page_size=100).get_json()
    assert len(city) == 4 and len(search(api, as_user="admin", page_size=100).get_json()) == 4
    # the district leader sees the events of Chancheng's instances, not Nanhai's nor the deploy
    district = search(api, as_user="leader_cc", page_size=100).get_json()
    assert {e["business_key"] for e in district} == {CC} and len(district) == 2
    assert search(api, as_user="leader_cc", business_key=NH).get_json() == []


def test_verify_reports_ok_then_the_first_tampered_event(api, engine, db_kind):
    _trail(api)
    r = api.get("/api/v1/audit/verify", as_user="auditor")
    assert r.status_code == 200
    assert r.get_json() == {"ok": True, "count": 4, "first_bad_seq": None,
                            "message": "审计链完整: 已校验 4 条事件"}
    seq = search(api, kind="instance.started", order="asc").get_json()[1]["seq"]
    with engine.db.write() as conn:
        if db_kind == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text(f"UPDATE audit_events SET actor = 'mallory' WHERE seq = {seq}"))
    try:
        bad = api.get("/api/v1/audit/verify", as_user="leader").get_json()
        assert bad["ok"] is False and bad["first_bad_seq"] == seq and bad["count"] == seq - 1
        assert f"第 {seq} 条" in bad["message"]
        cli = api.app.test_cli_runner().invoke(args=["verify-audit"])
        assert cli.exit_code == 1 and f"序号 {seq}" in cli.output
    finally:
        if db_kind == "postgresql":      # the schema outlives this test: guard it again
            with engine.db.write() as conn:
                conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def _csv(api, as_user="auditor", **params):
    r = api.get("/api/v1/audit.csv", as_user=as_user, query_string=params)
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")            # BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))


def test_csv_export_of_the_same_search(api):
    ids = _trail(api)
    rows = _csv(api)
    assert rows[0][:4] == ["序号", "时间(北京时间)", "操作人", "事件类型"]
    assert len(rows) == 5
    api_seqs = [str(e["seq"]) for e in search(api, page_size=100).get_json()]
    assert [r[0] for r in rows[1:]] == api_seqs
    completed = rows[1]
    assert completed[2:7] == ["inspector_cc", "task.completed", "two_lanes", CC, ids["cc"]]
    assert completed[1] == "2026-12-04 01:30:00"            # 17:30 UTC + 2 days, in China time
    assert "=HYPERLINK" in completed[8]
    filtered = _csv(api, business_key=NH)
    assert [r[3] for r in filtered[1:]] == ["instance.started"]
    assert len(_csv(api, as_user="leader_cc")) == 3
    assert api.get("/api/v1/audit.csv?to=nonsense", as_user="auditor").status_code == 422


def test_csv_cells_never_start_a_formula():
    from web.audit import _cell

    assert _cell("=1+1") == "'=1+1" and _cell("-x") == "'-x" and _cell("@a") == "'@a"
    assert _cell("张三") == "张三" and _cell(None) == ""
