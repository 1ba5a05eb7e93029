"""What the API reads about an instance, from the projections written at every step: the
row, its open tasks, what it waits for, its open incidents and the elements it completed.
No blob is loaded, except for the data of one open task (the task form shows it) and for
rows written before `completed_elements` was kept."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import JSON, Integer, bindparam, literal, null, select, type_coerce, union_all

from . import store
from .driver import Prebuilt, all_together
from .instances import open_incidents
from .projection import find_task
from .schema import (TASK_IS_OPEN, UTCDateTime, audit_events, instances, subscriptions, tasks,
                     timers)

# The reads of every instance page and API read, on the driver's cursor (engine.driver).
_INSTANCE = Prebuilt(select(*store.INSTANCE_COLUMNS).where(
    instances.c.id == bindparam("instance_id")))
_OPEN_TASKS = Prebuilt(select(tasks).where(tasks.c.instance_id == bindparam("instance_id"),
                                           TASK_IS_OPEN).order_by(tasks.c.created_at))
# what it waits for, messages then timers and jobs, in one statement
_WAITING = Prebuilt(union_all(
    select(literal("message").label("type"), subscriptions.c.id.label("position"),
           subscriptions.c.element_id, subscriptions.c.task_id,
           subscriptions.c.message_name.label("name"), subscriptions.c.correlation,
           type_coerce(null(), UTCDateTime()).label("due_at"),
           type_coerce(null(), Integer()).label("attempts"))
    .where(subscriptions.c.instance_id == bindparam("instance_id")),
    select(literal("timer").label("type"), timers.c.id, timers.c.element_id, timers.c.task_id,
           timers.c.kind, type_coerce(null(), JSON()), timers.c.due_at, timers.c.attempts)
    .where(timers.c.instance_id == bindparam("instance_id")),
).order_by("type", "position"))


@dataclass
class InstanceView:
    row: object                               # instances row without the blob
    open_tasks: list = field(default_factory=list)
    waiting: list[dict] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    completed_elements: list[str] = field(default_factory=list)
    also: list[list] = field(default_factory=list)          # rows of the caller's extra reads


def instance_row(conn, instance_id: str):
    return _INSTANCE.first(conn, {"instance_id": instance_id})


def instance(engine, conn, instance_id: str, row=None,
             also: list[tuple[Prebuilt, dict]] | None = None) -> InstanceView | None:
    """The view of one instance. Its reads, and the caller's `also` reads (their rows in
    `view.also`), go out together: one round trip on PostgreSQL."""
    params = {"instance_id": instance_id}
    reads = [(_OPEN_TASKS, params), (_WAITING, params), *(also or [])]
    if row is None:
        found, open_tasks, waiting, *extra = all_together(conn, [(_INSTANCE, params), *reads])
        row = found[0] if found else None
    else:
        open_tasks, waiting, *extra = all_together(conn, reads)
    if row is None:
        return None
    view = InstanceView(row=row, open_tasks=open_tasks, also=extra)
    for w in waiting:
        if w.type == "message":
            view.waiting.append({"type": "message", "element_id": w.element_id,
                                 "task_id": w.task_id, "name": w.name,
                                 "correlation": w.correlation, "due_at": None})
        else:   # an async service task waits for a worker: due now, or after a failure later
            view.waiting.append({"type": "job" if w.name == "async" else "timer",
                                 "element_id": w.element_id, "task_id": w.task_id,
                                 "name": w.name, "correlation": None, "due_at": w.due_at,
                                 "attempts": w.attempts})
    view.incidents = open_incidents(conn, instance_id) if row.state == "error" else []
    view.completed_elements = row.completed_elements
    if view.completed_elements is None:       # written before the column was kept
        full = conn.execute(select(instances).where(instances.c.id == instance_id)).first()
        view.completed_elements = store.completed_elements(
            store.workflow_of(conn, engine.specs, full.definition_id, full.blob))
    return view


def submitted_data(conn, instance_id: str, task_id: str) -> dict:
    """What a completed task was submitted with (its last `task.completed` event; the blob
    no longer holds the task once the instance moved on)."""
    details = conn.execute(select(audit_events.c.details).where(
        audit_events.c.instance_id == instance_id, audit_events.c.task_id == task_id,
        audit_events.c.kind == "task.completed").order_by(audit_events.c.seq.desc())
        .limit(1)).scalar()
    data = details.get("data") if isinstance(details, dict) else None
    return data if isinstance(data, dict) else {}


def task_data(engine, conn, instance_id: str, task_id: str) -> dict:
    """The current data of one open task (empty when it is no longer open). Served from the
    workflow cache when it holds the committed version, else from the blob."""
    # row and blob in one statement: on PostgreSQL two reads may see different commits
    row = conn.execute(select(instances).where(instances.c.id == instance_id)).first()
    if row is None:
        return {}
    entry = engine.workflows.take(row.id, row.lock_version)
    wf = entry.workflow if entry is not None else store.workflow_of(
        conn, engine.specs, row.definition_id, row.blob)
    try:
        task = find_task(wf, task_id)
        return dict(task.data) if task is not None else {}
    finally:
        engine.workflows.put(row.id, row.lock_version, wf,
                             entry.waits if entry is not None else None)
