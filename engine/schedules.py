"""Timer start events: the platform starts the instances.

SpiffWorkflow 3.2 treats a timer start event as something an *already created* instance waits
on: a workflow built from a spec whose start event is `timeCycle "R/P7D"` waits on the start
event and, each period, adds another branch to the same instance (catching up on every period
it missed when created late). Nobody creates that instance, and if someone did it would grow
for ever. So for every deployed process (latest version) whose top-level start event is a
timer, a `schedules` row holds the next due time; when it is due, one transaction claims the
row, starts a fresh instance per period with its start event already fired (one branch), and
moves the row to the next period. Missed periods are not caught up: a worker that was down for
three weeks starts the current week's instances once (the skipped count is audited).

Fan-out: the start event may name a service operation in a spiff property `startFor`; it is
called once per firing and returns a list of `{"business_key": ..., "variables": {...}}`, and
one instance is started per item (one duty instance per project and inspector). Without it,
one instance is started.

Exactly once: PostgreSQL claims the row with `FOR UPDATE SKIP LOCKED`; SQLite's BEGIN
IMMEDIATE serialises writers. The row's move to the next period commits together with the
instances it started, so a crash in between starts nothing and loses nothing.
"""
from __future__ import annotations

import ast
import json
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              TimeDateEventDefinition,
                                                              TimerEventDefinition)
from SpiffWorkflow.task import TaskState

from . import runner, spiff
from .clock import utcnow
from .errors import Conflict
from .instances import check_variables, new_handle
from .schema import definitions, schedules
from .services import ServiceContext
from .store import load_specs

log = logging.getLogger(__name__)
ACTOR = "system:schedule"
MAX_TARGETS = 5000

# -- reading the start timer of a definition ---------------------------------------------
def start_timers(spec) -> list[dict]:
    """Timer start events of a process spec (top level only): element id, kind, expression
    text as written, and the `startFor` property."""
    found = []
    for output in spec.start.outputs:
        ed = getattr(output, "event_definition", None)
        if not isinstance(ed, TimerEventDefinition):
            continue
        kind = ("cycle" if isinstance(ed, CycleTimerEventDefinition)
                else "date" if isinstance(ed, TimeDateEventDefinition) else "duration")
        props = (output.extensions or {}).get("properties") or {}
        found.append({"element_id": output.bpmn_id or output.name, "kind": kind,
                      "expression": ed.expression, "start_for": props.get("startFor")})
    return found


def _literal(expression: str) -> str:
    """A start timer has no instance data to read: its expression must be a constant string."""
    value = ast.literal_eval(expression.strip())
    if not isinstance(value, str):
        raise ValueError(f"timer start expression must be a string: {expression!r}")
    return value


def first_due(kind: str, value: str, now: datetime) -> tuple[datetime | None, int | None]:
    """(first due time, remaining cycles) for a schedule created at `now`."""
    if kind == "cycle":
        cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
        start = start.astimezone(timezone.utc)
        if "/" in value and value.count("/") == 1:
            start = now + duration        # R/P7D: spiff starts the first period now
        remaining = None if cycles < 0 else cycles
        while start < now - duration and (remaining is None or remaining > 0):
            start += duration             # an old anchor: begin at the current period
            if remaining is not None:
                remaining -= 1
        return (start if remaining != 0 else None), remaining
    if kind == "date":
        return TimerEventDefinition.get_datetime(value).astimezone(timezone.utc), 1
    duration = TimerEventDefinition.parse_iso_duration(value)
    return now + TimerEventDefinition.get_timedelta_from_start(duration, now), 1


def _next_after(row, now: datetime) -> tuple[datetime | None, int | None, int]:
    """After firing: (next due, remaining, periods skipped)."""
    remaining = None if row.remaining is None else row.remaining - 1
    if row.kind != "cycle" or remaining == 0:
        return None, 0 if row.kind != "cycle" else remaining, 0
    _, _, duration = TimerEventDefinition.parse_iso_recurring_interval(row.expression)
    due = row.next_due_at + duration
    skipped = 0
    while due <= now and (remaining is None or remaining > 1):
        due += duration
        skipped += 1
        if remaining is not None:
            remaining -= 1
    return due, remaining, skipped


# -- keeping the table in line with the deployed definitions ------------------------------
def sync(engine) -> int:
    """Create, update or drop schedule rows for the latest process versions; returns how many
    rows changed. Cheap when nothing was deployed (one query)."""
    try:
        return _sync(engine)
    except (IntegrityError, Conflict):
        # another worker's pass wrote the same rows at the same moment: its rows stand
        return 0


def _sync(engine) -> int:
    changed = 0
    with engine.unit(ACTOR) as unit:
        conn = unit.conn
        latest = (select(definitions.c.key, func.max(definitions.c.version).label("v"))
                  .where(definitions.c.kind == "bpmn").group_by(definitions.c.key).subquery())
        defs = conn.execute(select(definitions.c.id, definitions.c.key, definitions.c.meta)
                            .join(latest, (definitions.c.key == latest.c.key)
                                  & (definitions.c.version == latest.c.v))
                            .where(definitions.c.kind == "bpmn")).all()
        rows = {r.process_key: r for r in conn.execute(select(schedules)).all()}
        checked = engine.__dict__.setdefault("_schedule_checked", {})
        for d in defs:
            row = rows.pop(d.key, None)
            if row is not None and row.definition_id == d.id:
                continue
            if row is None and checked.get(d.key) == d.id:
                continue              # known to have no timer start
            timer = _start_timer(engine, conn, d)
            checked[d.key] = d.id
            if timer is None:
                if row is not None:
                    conn.execute(delete(schedules).where(schedules.c.process_key == d.key))
                    changed += 1
                continue
            try:
                value = _literal(timer["expression"])
                due, remaining = first_due(timer["kind"], value, unit.now)
            except (ValueError, SyntaxError) as exc:
                log.warning("timer start of %s not scheduled: %s", d.key, exc)
                continue
            values = dict(definition_id=d.id, element_id=timer["element_id"],
                          kind=timer["kind"], expression=value, start_for=timer["start_for"],
                          updated_at=unit.now)
            if row is None:
                conn.execute(insert(schedules).values(process_key=d.key, next_due_at=due,
                                                      remaining=remaining, fired_count=0,
                                                      **values))
            elif (row.expression, row.kind) != (value, timer["kind"]):
                conn.execute(update(schedules).where(schedules.c.process_key == d.key)
                             .values(next_due_at=due, remaining=remaining, **values))
            else:                     # a new version with the same timer keeps its rhythm
                conn.execute(update(schedules).where(schedules.c.process_key == d.key)
                             .values(**values))
            unit.record("schedule.updated", process_key=d.key, expression=value,
                        next_due_at=due.isoformat() if due else None)
            changed += 1
        for key in rows:              # definitions are never deleted; kept for safety
            conn.execute(delete(schedules).where(schedules.c.process_key == key))
            changed += 1
    return changed


def _start_timer(engine, conn, definition) -> dict | None:
    meta = definition.meta or {}
    if "start_timers" in meta:        # deploy.py may record it (cheaper than loading specs)
        timers_ = meta["start_timers"]
    else:
        spec, _ = load_specs(conn, engine.specs, definition.id)
        timers_ = start_timers(spec)
    return timers_[0] if timers_ else None


# -- firing ------------------------------------------------------------------------------
def fire_due(engine, limit: int = 20) -> int:
    """Start the instances of every due schedule; returns how many instances started."""
    started = 0
    for _ in range(limit):
        with engine.unit(ACTOR) as unit:
            query = (select(schedules).where(schedules.c.next_due_at <= unit.now)
                     .order_by(schedules.c.next_due_at).limit(1))
            if unit.conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = unit.conn.execute(query).first()
            if row is None:
                return started
            started += len(_fire(engine, unit, row))
    return started


def _fire(engine, unit, row) -> list[str]:
    definition = engine.definition(unit.conn, row.process_key)
    period = row.next_due_at
    targets = [{"business_key": None, "variables": {}}]
    if row.start_for:
        ctx = ServiceContext(instance_id="", process_key=row.process_key, business_key=None,
                             element_id=row.element_id, data={}, now=unit.now, conn=unit.conn)
        targets = json.loads(engine.services.call(row.start_for, ctx, {}))
        if not isinstance(targets, list):
            raise ValueError(f"{row.start_for} must return a list")
        targets = targets[:MAX_TARGETS]
    started = []
    for target in targets:
        variables = dict(target.get("variables") or {})
        variables.setdefault("period_start", period.isoformat())
        handle = start_scheduled(engine, unit, definition, row.element_id,
                                 target.get("business_key"), variables)
        started.append(handle.id)
    due, remaining, skipped = _next_after(row, unit.now)
    unit.conn.execute(update(schedules).where(schedules.c.process_key == row.process_key)
                      .values(next_due_at=due, remaining=remaining,
                              fired_count=row.fired_count + 1, last_fired_at=unit.now,
                              updated_at=unit.now))
    unit.record("schedule.fired", process_key=row.process_key, period=period.isoformat(),
                started=len(started), skipped_periods=skipped,
                next_due_at=due.isoformat() if due else None)
    return started


def start_scheduled(engine, unit, definition, element_id: str, business_key: str | None,
                    variables: dict):
    """A new instance whose timer start event has fired once (one branch, no catch-up)."""
    variables = check_variables(variables)
    handle = new_handle(engine, unit, definition, business_key, variables)
    _prime(handle.wf, element_id, unit.now)
    unit.record("instance.started", handle.id, process_key=definition.key,
                version=definition.version, business_key=business_key, variables=variables,
                schedule=element_id)
    runner.advance(engine, unit, handle)
    if not handle.wf.completed and handle.state == "running" and _start_waiting(handle.wf):
        handle.wf.refresh_timers()
        runner.advance(engine, unit, handle)
    runner.persist(engine, unit, handle)
    return handle


def _prime(wf, element_id: str, now: datetime) -> None:
    past = (now - timedelta(seconds=1)).isoformat()
    for task in wf.get_tasks():
        if (task.task_spec.bpmn_id or task.task_spec.name) != element_id:
            continue
        if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
            # one cycle, due already; its interval never comes into play (but must not look
            # like a designer's too-short cycle to the budget's check)
            spiff.set_event_value(task, {"cycles": 1, "next": past, "duration": 86400.0})
        else:
            spiff.set_event_value(task, past)


def _start_waiting(wf) -> bool:
    return any(t.task_spec.__class__.__name__ == "StartEvent"
               for t in wf.get_tasks(state=TaskState.WAITING))


__all__ = ["schedules", "sync", "fire_due", "start_scheduled", "start_timers", "first_due",
           "utcnow"]
