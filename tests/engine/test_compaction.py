"""Finished history is cut out of a long-running instance's workflow, so its blob and the
cost of a step stop growing with it; the instance runs on, reloads from its blob, takes
messages and answers the API exactly as one that kept everything. The audit trail keeps the
history."""
from __future__ import annotations

from sqlalchemy import select

from engine import instances as instance_cmds
from engine.schema import audit_events, instances

P1 = "FS-CC-2026-001"
ROUNDS = 40
VOLATILE = {"id", "instance_id", "task_id", "started_at", "updated_at", "ended_at",
            "created_at", "due_at"}


def shape(value):
    """The instance detail without ids and times (which differ between two instances)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return value


def loop(api, iid, rounds):
    for _ in range(rounds):
        assert api.complete(api.open_task(iid, "draft")["id"]).status_code == 200
        r = api.complete(api.open_task(iid, "reply")["id"], {"accepted": False})
        assert r.status_code == 200, r.get_json()


def blob_size(engine, iid) -> int:
    with engine.db.read() as conn:
        return len(conn.execute(select(instances.c.blob).where(instances.c.id == iid)).scalar())


def test_a_compacted_instance_runs_and_answers_as_one_that_kept_everything(api, engine,
                                                                          monkeypatch):
    assert api.deploy("two_lanes.bpmn").status_code in (200, 201)
    start = lambda: api.start("two_lanes", P1, {"project_code": P1}).get_json()["id"]  # noqa: E731
    compacted = start()
    loop(api, compacted, ROUNDS)
    monkeypatch.setattr(instance_cmds, "COMPACT_ABOVE", 10**9)
    kept = start()
    loop(api, kept, ROUNDS)
    with engine.db.read() as conn:
        kinds = conn.execute(select(audit_events.c.kind).where(
            audit_events.c.instance_id == compacted)).scalars().all()
    assert "instance.compacted" in kinds
    assert kinds.count("task.completed") == 2 * ROUNDS        # the history stays audited
    assert blob_size(engine, compacted) < blob_size(engine, kept) / 3
    assert shape(api.instance(compacted)) == shape(api.instance(kept))
    # from its blob alone (another process, a restart): the same, and it runs on
    engine.workflows.clear()
    assert shape(api.instance(compacted)) == shape(api.instance(kept))
    for iid in (compacted, kept):
        assert api.complete(api.open_task(iid, "draft")["id"]).status_code == 200
    r = api.message("撤销", {"project_code": P1}, {"reason": "撤回"})
    assert sorted(r.get_json()["correlated"]) == sorted([compacted, kept])
    a, b = api.instance(compacted), api.instance(kept)
    assert a["state"] == b["state"] == "completed"
    assert shape(a) == shape(b) and "cancelled" in a["completed_elements"]
