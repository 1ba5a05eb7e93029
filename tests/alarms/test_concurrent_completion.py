"""A person's task completion that races a device alarm into the same instance.

On PostgreSQL writers run at once and the instance's optimistic lock decides: the alarm
commits first, the completion's write finds the instance changed. The person meant to issue
the notice whatever the alarm did, so the completion is redone on a fresh read instead of
coming back as 409. (On SQLite the second writer waits for the first; there is no race.)
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

import engine.tasks as engine_tasks
from engine.schema import audit_events
from processes.alarms import Envelope, ingest
from tests.alarms.test_http_ingest import alarm
from tests.processes.test_rectification import NOTICE


@pytest.fixture
def db_kind():
    return "postgresql"


def test_a_completion_racing_an_alarm_is_redone_not_refused(api, bundled, engine,
                                                            monkeypatch):
    first = api.post("/api/v1/alarms", json=alarm("A-1"), as_user="gateway").get_json()
    (iid,) = first["alarms"][0]["instances"]
    notice = api.open_task(iid, "rect_notice", as_user="inspector_cc")
    other = alarm("V-1", device_type="video", device_id="VIDEO-CC001", type="offline")
    real_load, loads = engine_tasks.load_handle, []

    def load_then_alarm(eng, unit, instance_id, *rest, **kw):
        handle = real_load(eng, unit, instance_id, *rest, **kw)
        loads.append(handle.row.lock_version)
        if len(loads) == 1:     # the alarm commits in its own transaction, after our read
            (outcome,) = ingest(engine, [Envelope("http", raw=json.dumps(other),
                                                  kind="alarm")])
            assert outcome.alarms[0]["effect"] == "correlated"
        return handle
    monkeypatch.setattr(engine_tasks, "load_handle", load_then_alarm)

    # a deadline after today on the wall clock (the form refuses one that has passed)
    r = api.complete(notice["id"], {**NOTICE, "deadline": "2030-01-10"}, as_user="inspector_cc")

    assert r.status_code == 200, r.get_json()
    assert loads[1] > loads[0], "the second attempt read the instance the alarm changed"
    inst = api.instance(iid)
    assert [a["alarm_id"] for a in inst["variables"]["related_alarms"]] == ["V-1"]
    assert "rect_notice" not in [t["element_id"] for t in inst["tasks"]]
    assert "rect_reply" in [t["element_id"] for t in inst["tasks"]]
    with engine.db.read() as conn:
        completed = conn.execute(select(audit_events.c.seq).where(
            audit_events.c.kind == "task.completed", audit_events.c.task_id == notice["id"])).all()
    assert len(completed) == 1, "the attempt that lost left nothing behind"
