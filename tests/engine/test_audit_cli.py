"""The audit chain, the operators' CLI and the OpenAPI description."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from processes.demo import DEMO_PASSWORD


def test_history_is_hash_chained(api):
    api.deploy("two_lanes.bpmn")
    iid = api.start("two_lanes", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001"}).get_json()["id"]
    api.complete(api.open_task(iid, "draft")["id"], {"note": "请于三日内整改"}, as_user="inspector_cc")
    events = api.get(f"/api/v1/instances/{iid}/history", as_user="auditor").get_json()
    assert [e["kind"] for e in events] == ["instance.started", "task.completed"]
    assert events[1]["actor"] == "inspector_cc" and events[1]["details"]["data"] == {"note": "请于三日内整改"}
    assert events[1]["details"]["changed"]["note"] == {"from": None, "to": "请于三日内整改"}
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in events)


def _tamper(engine, db_kind, statement):
    with engine.db.write() as conn:
        if db_kind == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text(statement))
        if db_kind != "sqlite":      # the schema outlives this test: protect the log again
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def _events(engine) -> list:
    with engine.db.read() as conn:
        return conn.execute(text("SELECT seq, actor, kind, hash FROM audit_events ORDER BY seq")
                            ).all()


def test_the_log_refuses_updates(api, engine):
    api.deploy("two_lanes.bpmn")
    before = _events(engine)
    assert before
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events",
                      f"DELETE FROM audit_events WHERE seq = {before[-1].seq}"):
        with pytest.raises(DBAPIError, match="audit trail is append-only"):
            with engine.db.write() as conn:
                conn.execute(text(statement))
    assert _events(engine) == before


def test_verify_audit_names_the_first_edited_event(app, api, engine, db_kind):
    api.deploy("two_lanes.bpmn")
    for _ in range(3):
        api.start("two_lanes", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001"})
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["verify-audit"])
    assert ok.exit_code == 0 and "完整" in ok.output
    with engine.db.read() as conn:
        seq = conn.execute(text("SELECT seq FROM audit_events ORDER BY seq")).scalars().all()[2]
    _tamper(engine, db_kind, f"UPDATE audit_events SET actor = 'mallory' WHERE seq = {seq}")
    bad = runner.invoke(args=["verify-audit"])
    assert bad.exit_code == 1 and f"序号 {seq}" in bad.output


def test_verify_audit_sees_a_deleted_event(app, api, engine, db_kind):
    api.deploy("two_lanes.bpmn")
    for _ in range(3):
        api.start("two_lanes", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001"})
    with engine.db.read() as conn:
        seq = conn.execute(text("SELECT seq FROM audit_events ORDER BY seq")).scalars().all()[1]
    _tamper(engine, db_kind, f"DELETE FROM audit_events WHERE seq = {seq}")
    bad = app.test_cli_runner().invoke(args=["verify-audit"])
    assert bad.exit_code == 1 and f"序号 {seq}" in bad.output and "缺失" in bad.output


@pytest.mark.parametrize("kept", [3, 0], ids=["last-two-removed", "all-removed"])
def test_verify_audit_sees_the_tail_removed(app, api, engine, db_kind, kept):
    """Deleting the newest events leaves a chain that is intact as far as it goes: only the
    head (audit_head: last seq and hash) shows what is missing."""
    api.deploy("two_lanes.bpmn")
    for _ in range(5):
        api.start("two_lanes", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001"})
    seqs = [e.seq for e in _events(engine)]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > kept + 1
    runner = app.test_cli_runner()
    assert runner.invoke(args=["verify-audit"]).exit_code == 0
    _tamper(engine, db_kind, f"DELETE FROM audit_events WHERE seq > {kept}")
    assert [e.seq for e in _events(engine)] == seqs[:kept]
    bad = runner.invoke(args=["verify-audit"])
    assert bad.exit_code == 1
    assert f"序号 {kept + 1}" in bad.output and "链尾被截断" in bad.output, bad.output


def test_setup_twice_and_create_user(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    assert runner.invoke(args=["setup"]).exit_code == 0
    assert runner.invoke(args=["setup"]).exit_code == 0
    r = runner.invoke(args=["create-user", "wang_insp", "--role", "inspector", "--district",
                            "禅城区", "--password", "s3cret-pass"])
    assert r.exit_code == 0, r.output
    again = runner.invoke(args=["create-user", "wang_insp", "--role", "inspector", "--district",
                                "禅城区", "--password", "s3cret-pass"])
    assert again.exit_code != 0 and "已存在" in again.output
    bad = runner.invoke(args=["create-user", "x", "--role", "pilot", "--password", "s3cret-pass"])
    assert bad.exit_code != 0
    c = sqlite_app.test_client()
    token = c.post("/api/v1/auth/token", json={"username": "wang_insp", "password": "s3cret-pass"})
    assert token.status_code == 200
    wrong = c.post("/api/v1/auth/token", json={"username": "wang_insp", "password": "nope"})
    assert wrong.status_code == 401


def test_load_demo_deploys_the_bundled_processes(sqlite_app):
    runner = sqlite_app.test_cli_runner()
    r = runner.invoke(args=["load-demo"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(args=["load-demo"]).exit_code != 0      # not into a database with users
    assert runner.invoke(args=["load-demo", "--force"]).exit_code == 0      # twice is harmless
    c = sqlite_app.test_client()
    token = c.post("/api/v1/auth/token",
                   json={"username": "inspector_cc", "password": DEMO_PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    projects = c.get("/api/v1/projects", headers=headers).get_json()
    assert projects and {p["district"] for p in projects} == {"禅城区"}
    keys = {d["key"] for d in c.get("/api/v1/definitions?page_size=100", headers=headers).get_json()}
    assert {"inspection", "rectification", "warning_talk"} <= keys
    inbox = c.get("/api/v1/tasks", headers=headers).get_json()
    assert {t["process_key"] for t in inbox} >= {"inspection", "rectification"}
    con = c.post("/api/v1/auth/token",
                 json={"username": "contractor_gdjg", "password": DEMO_PASSWORD}).get_json()["token"]
    replies = c.get("/api/v1/tasks", headers={"Authorization": f"Bearer {con}"}).get_json()
    assert [t["element_id"] for t in replies] == ["rect_reply"]


def test_openapi_lists_every_endpoint(sqlite_app):
    spec = sqlite_app.test_client().get("/api/openapi.json").get_json()
    rules = {(r.rule, m) for r in sqlite_app.url_map.iter_rules()
             if r.rule.startswith("/api/v1/") for m in r.methods - {"HEAD", "OPTIONS"}}
    documented = set()
    for path, ops in spec["paths"].items():
        flask_path = path.replace("{", "<string:").replace("}", ">")
        for method in ops:
            if method in ("get", "post", "put", "patch", "delete"):
                documented.add((flask_path, method.upper()))
    normalised = {(rule.replace("<int:", "<string:"), m) for rule, m in rules}
    assert normalised <= documented, normalised - documented
