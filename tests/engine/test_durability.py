"""A crash between two steps leaves the last committed state intact: everything a step writes
(workflow, task projection, subscriptions, timers, audit) commits together or not at all."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import tasks as task_commands
from engine.schema import audit_events, instances, subscriptions, tasks, timers


class Crash(Exception):
    pass


def snapshot(engine, iid):
    with engine.db.read() as conn:
        inst = conn.execute(select(instances.c.lock_version, instances.c.blob, instances.c.state)
                            .where(instances.c.id == iid)).one()
        open_tasks = conn.execute(select(tasks.c.element_id).where(
            tasks.c.instance_id == iid, tasks.c.state == "open")).scalars().all()
        subs = conn.execute(select(func.count()).select_from(subscriptions)
                            .where(subscriptions.c.instance_id == iid)).scalar()
        tms = conn.execute(select(func.count()).select_from(timers)
                           .where(timers.c.instance_id == iid)).scalar()
        events = conn.execute(select(func.count()).select_from(audit_events)).scalar()
    return tuple(inst), open_tasks, subs, tms, events


def test_a_crash_before_commit_changes_nothing(api, engine):
    api.deploy("timers.bpmn")
    iid = api.start("timers", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001",
                                                 "deadline": "P2D"}).get_json()["id"]
    task_id = api.open_task(iid, "fix")["id"]
    before = snapshot(engine, iid)
    assert before[1] == ["fix"] and before[3] == 2
    with pytest.raises(Crash):
        with engine.unit("inspector_cc") as unit:
            task_commands.complete(engine, unit, task_id, {"note": "已整改"})
            raise Crash()         # the process dies after the step ran, before its commit
    assert snapshot(engine, iid) == before
    assert api.complete(task_id, {"note": "已整改"}).status_code == 200
    after = snapshot(engine, iid)
    assert after[1] == [] and after[2] == 1 and after[0][0] == before[0][0] + 1
