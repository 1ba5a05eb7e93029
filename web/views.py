"""Shaping rows into the API's resources (shared by several blueprints)."""
from __future__ import annotations

from sqlalchemy import select
from SpiffWorkflow.task import TaskState

from engine import store
from engine.clock import utcnow
from engine.instances import open_incidents
from engine.projection import element_id
from engine.schema import instances, subscriptions, tasks, timers
from processes import disclosure


def instance_summary(row) -> dict:
    data = {k: getattr(row, k) for k in (
        "id", "process_key", "version", "business_key", "scope_key", "state", "started_by")}
    data.update({k: _aware(getattr(row, k)) for k in ("started_at", "updated_at", "ended_at")})
    return data


def _aware(dt):
    from datetime import timezone
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


def task_summary(row, business_key: str | None = None) -> dict:
    due = _aware(row.due_at)
    return {"id": row.id, "instance_id": row.instance_id, "process_key": row.process_key,
            "element_id": row.element_id, "name": row.name, "lane": row.lane, "role": row.role,
            "state": row.state, "assignee": row.assignee, "business_key": business_key,
            "scope_key": row.scope_key, "due_at": due, "created_at": _aware(row.created_at),
            "overdue": bool(due and row.state == "open" and due < utcnow()),
            "form_key": row.form_key}


def instance_detail(engine, conn, instance_id: str) -> dict:
    """The instance as the caller may read it (processes.disclosure withholds by role)."""
    from .auth import current

    row = conn.execute(select(instances).where(instances.c.id == instance_id)).first()
    data = instance_summary(row)
    role = current().role
    data["variables"] = disclosure.visible_variables(role, row.process_key, row.variables)
    open_tasks = conn.execute(select(tasks).where(tasks.c.instance_id == instance_id,
                                                  tasks.c.state == "open")
                              .order_by(tasks.c.created_at)).all()
    data["tasks"] = [disclosure.visible_task(role, row.process_key, row.variables,
                                             task_summary(t, row.business_key))
                     for t in open_tasks]
    waiting = [{"type": "message", "element_id": s.element_id, "task_id": s.task_id,
                "name": s.message_name, "correlation": s.correlation, "due_at": None}
               for s in conn.execute(select(subscriptions).where(
                   subscriptions.c.instance_id == instance_id))]
    # an async service task waits for a worker: due now, or after a failed attempt later
    waiting += [{"type": "job" if t.kind == "async" else "timer", "element_id": t.element_id,
                 "task_id": t.task_id, "name": t.kind, "correlation": None,
                 "due_at": _aware(t.due_at), "attempts": t.attempts}
                for t in conn.execute(select(timers).where(timers.c.instance_id == instance_id))]
    data["waiting"] = waiting
    data["incidents"] = open_incidents(conn, instance_id)
    loaded = store.load(conn, engine.specs, instance_id)
    data["completed_elements"] = sorted({
        element_id(t) for t in loaded.workflow.get_tasks(state=TaskState.COMPLETED)
        if t.task_spec.bpmn_id})
    return data
