"""Service tasks marked `async`: the step that reaches one commits at once, a background pass
(the embedded thread, or a Celery worker) runs it, a failure is retried with back-off and the
last failure is an incident that a retry through the API completes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.clock import clock
from engine.schema import audit_events
from engine.services import ServiceFailure
from engine.timers import fire_due

P1 = "FS-CC-2026-001"


class Service:
    """test.issue: fails while `down`; counts its calls."""

    def __init__(self):
        self.down, self.calls = False, 0

    def __call__(self, ctx):
        self.calls += 1
        if self.down:
            raise ServiceFailure("文书服务不可用 (renderer down)")
        return {"number": f"N-{self.calls}"}


def setup(api, engine, **settings):
    service = Service()
    engine.services.register("test.issue", service)
    for key, value in settings.items():
        setattr(engine.settings, key, value)
    assert api.deploy("async_gate.bpmn").status_code in (200, 201)
    iid = api.start("async_gate", P1, {"project_code": P1}).get_json()["id"]
    return service, iid


def jobs(api, iid):
    return [w for w in api.instance(iid)["waiting"] if w["type"] == "job"]


def kinds(engine, iid):
    with engine.db.read() as conn:
        return [r.kind for r in conn.execute(select(audit_events.c.kind).where(
            audit_events.c.instance_id == iid).order_by(audit_events.c.seq))]


def test_the_step_commits_before_the_async_task_runs_then_a_pass_runs_it(api, engine):
    service, iid = setup(api, engine)
    woken = []
    engine.wake = woken.append
    r = api.complete(api.open_task(iid, "draft")["id"])
    assert r.status_code == 200
    assert service.calls == 0                       # not in the web request
    assert woken == [iid]                           # the worker was told after commit
    assert [j["element_id"] for j in jobs(api, iid)] == ["issue"]
    assert api.instance(iid)["tasks"] == []         # the gate waits for it
    assert fire_due(engine) == 1
    assert service.calls == 1
    inst = api.instance(iid)
    assert inst["variables"]["issued"] == {"number": "N-1"}
    assert [t["element_id"] for t in inst["tasks"]] == ["reply"]
    assert jobs(api, iid) == []
    assert "job.completed" in kinds(engine, iid)
    assert fire_due(engine) == 0                    # once


def test_failures_back_off_then_become_an_incident_and_a_retry_completes(api, engine):
    service, iid = setup(api, engine, job_attempts=3, job_backoff_seconds=10)
    service.down = True
    api.complete(api.open_task(iid, "draft")["id"])
    fire_due(engine)
    assert service.calls == 1
    job = jobs(api, iid)[0]
    assert job["attempts"] == 1 and api.instance(iid)["state"] == "running"
    fire_due(engine)
    assert service.calls == 1                       # not before its back-off
    clock.advance(timedelta(seconds=11))
    fire_due(engine)
    assert service.calls == 2 and jobs(api, iid)[0]["attempts"] == 2
    clock.advance(timedelta(seconds=11))
    fire_due(engine)
    assert service.calls == 2                       # the second wait is twice as long
    clock.advance(timedelta(seconds=10))
    fire_due(engine)
    assert service.calls == 3
    inst = api.instance(iid)
    assert inst["state"] == "error"
    assert "renderer down" in inst["incidents"][0]["message"]
    assert kinds(engine, iid).count("job.failed") == 2
    service.down = False
    r = api.post(f"/api/v1/instances/{iid}/retry")
    assert r.status_code == 200, r.get_json()
    inst = api.instance(iid)
    assert inst["state"] == "running" and inst["incidents"] == []
    assert [t["element_id"] for t in inst["tasks"]] == ["reply"]
    assert inst["variables"]["issued"] == {"number": "N-4"}


def test_a_failed_attempt_writes_nothing_of_the_step(api, engine):
    service, iid = setup(api, engine, job_attempts=2)
    service.down = True
    api.complete(api.open_task(iid, "draft")["id"])
    before = api.instance(iid)["variables"]
    fire_due(engine)
    assert api.instance(iid)["variables"] == before
    assert "issued" not in before
