"""Shaping rows into the API's resources (shared by several blueprints). What an instance is
comes from `engine.read_model` (projections, no blobs); this only shapes it."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from engine import read_model
from engine.clock import utcnow
from engine.driver import Prebuilt, all_together
from processes import disclosure
from processes.schema import users

_SUMMARY = ("id", "process_key", "version", "business_key", "scope_key", "state", "started_by",
            "started_at", "updated_at", "ended_at")


# Who did it, as people read it: the platform's own actors in words, people by their names.
SYSTEM_ACTORS = {"system:timer": "系统(定时器)", "system:worker": "系统(后台任务)",
                 "system:devices": "系统(设备接入)", "system:documents": "系统(文书)",
                 "system:schedule": "系统(定期计划)", "system:setup": "系统(初始化)",
                 "system:demo": "系统(演示数据)"}


_FEW = 8
# Names are read in groups of up to _FEW, one statement per group size, on the driver's
# cursor; the groups of one call go out together (one round trip on PostgreSQL).
_FEW_NAMES = {n: Prebuilt(select(users.c.username, users.c.display_name).where(
    users.c.username.in_([bindparam(f"u{i}") for i in range(n)]))) for n in range(1, _FEW + 1)}


def people_names(conn, usernames) -> dict[str, str]:
    wanted = _people(usernames)
    if not wanted:
        return {}
    groups = [_few_names(wanted[i:i + _FEW]) for i in range(0, len(wanted), _FEW)]
    return {k: v for rows in all_together(conn, groups) for k, v in names_from(rows).items()}


def _people(usernames) -> list[str]:
    return sorted({u for u in usernames if u and not u.startswith("system:")})


def _few_names(wanted: list[str]) -> tuple[Prebuilt, dict]:
    return _FEW_NAMES[len(wanted)], {f"u{i}": u for i, u in enumerate(wanted)}


def names_from(rows) -> dict[str, str]:
    return {r.username: r.display_name for r in rows}


def actor_name(actor: str | None, names: dict[str, str]) -> str:
    if not actor:
        return "系统"
    if actor in SYSTEM_ACTORS:
        return SYSTEM_ACTORS[actor]
    if actor.startswith("system:"):
        return "系统"
    return names.get(actor, actor)


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
    starter = _people([row.started_by]) if row is not None else []
    view = read_model.instance(engine, conn, instance_id, row,
                               also=[_few_names(starter)] if starter else [])
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
