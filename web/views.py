"""Shaping rows into the API's resources (shared by several blueprints). What an instance is
comes from `engine.read_model` (projections, no blobs); this only shapes it."""
from __future__ import annotations

from engine import read_model
from engine.clock import utcnow
from processes import disclosure
from processes.actors import actor_name, name_reads, names_from, people_names

_SUMMARY = ("id", "process_key", "version", "business_key", "scope_key", "state", "started_by",
            "started_at", "updated_at", "ended_at")


def instance_summary(row) -> dict:
    data = {k: getattr(row, k) for k in _SUMMARY}
    known = getattr(row, "started_by_name", None)
    data["started_by_name"] = actor_name(row.started_by, {row.started_by: known} if known else {})
    return data


def task_summary(row, business_key: str | None = None) -> dict:
    due = row.due_at
    return {"id": row.id, "instance_id": row.instance_id, "process_key": row.process_key,
            "element_id": row.element_id, "name": row.name, "lane": row.lane, "role": row.role,
            "state": row.state, "assignee": row.assignee, "business_key": business_key,
            "scope_key": row.scope_key, "due_at": due, "created_at": row.created_at,
            "overdue": bool(due and row.state == "open" and due < utcnow()),
            "form_key": row.form_key}


def instance_detail(engine, conn, instance_id: str, row=None) -> dict:
    """The instance as the caller may read it (processes.disclosure withholds by role)."""
    from .auth import current

    # the starter's name is read with the view when the row is known already
    starter = name_reads([row.started_by]) if row is not None else []
    view = read_model.instance(engine, conn, instance_id, row, also=starter)
    row, role = view.row, current().role
    data = instance_summary(row)
    names = names_from(view.also[0]) if starter else people_names(conn, [row.started_by])
    data["started_by_name"] = actor_name(row.started_by, names)
    data["variables"] = disclosure.visible_variables(role, row.process_key, row.variables)
    data["tasks"] = [disclosure.visible_task(role, row.process_key, row.variables,
                                             task_summary(t, row.business_key))
                     for t in view.open_tasks]
    data["waiting"] = view.waiting
    data["incidents"] = view.incidents
    data["completed_elements"] = view.completed_elements
    return data
