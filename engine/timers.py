"""Firing due timers. Each instance is fired in its own transaction; the optimistic lock makes
a timer that two workers pick up at once apply only once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from SpiffWorkflow.task import TaskState

from . import runner
from .clock import utcnow
from .errors import Conflict, NotFound
from .instances import load_handle
from .projection import find_task
from .schema import timers


def due_instances(conn, now: datetime, limit: int = 100) -> list[str]:
    rows = conn.execute(select(timers.c.instance_id, timers.c.due_at)
                        .where(timers.c.due_at <= now).order_by(timers.c.due_at)
                        .limit(limit * 4)).all()
    seen: list[str] = []
    for r in rows:
        if r.instance_id not in seen:
            seen.append(r.instance_id)
    return seen[:limit]


def fire_instance(engine, instance_id: str, actor: str = "system:timer") -> list[str]:
    """Fire what is due on one instance; returns the element ids of the timers that fired."""
    with engine.unit(actor) as unit:
        due = unit.conn.execute(select(timers.c.task_id, timers.c.element_id)
                                .where(timers.c.instance_id == instance_id,
                                       timers.c.due_at <= unit.now)).all()
        if not due:
            return []
        handle = load_handle(engine, unit, instance_id)
        if handle.state != "running":
            return []
        before = {t.task_id: _event_value(find_task(handle.wf, t.task_id)) for t in due}
        handle.wf.refresh_timers()
        fired = []
        for t in due:
            task = find_task(handle.wf, t.task_id)
            # a cycle timer keeps waiting after it fires, with its next due time
            if task is not None and (not task.has_state(TaskState.WAITING)
                                     or _event_value(task) != before[t.task_id]):
                fired.append(t.element_id)
                unit.record("timer.fired", handle.id, t.task_id, element_id=t.element_id)
        runner.advance(engine, unit, handle)
        runner.persist(engine, unit, handle)
        return fired


def _event_value(task):
    """A copy: spiff updates a cycle timer's value in place when it fires."""
    value = None if task is None else task._get_internal_data("event_value")
    return dict(value) if isinstance(value, dict) else value


def fire_due(engine, limit: int = 100) -> int:
    """One pass over due timers; returns how many timers fired."""
    with engine.db.read() as conn:
        ids = due_instances(conn, utcnow(), limit)
    count = 0
    for instance_id in ids:
        try:
            count += len(fire_instance(engine, instance_id))
        except (Conflict, NotFound):
            continue   # another worker got there first, or the instance is gone
    return count
