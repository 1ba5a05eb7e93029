"""Firing due timers, exactly once with any number of workers.

Each instance is fired in its own write transaction that first *claims* it:
- PostgreSQL: `SELECT instances.id ... FOR UPDATE SKIP LOCKED` on the instance row of a due
  timer. A second worker skips an instance the first one holds and takes the next due one, so
  two workers never load the same instance (the row lock lasts until commit). The instance row
  is locked rather than the timer rows: one instance may have several due timers, and locking
  them one by one would let two workers each hold a part of the same instance.
- SQLite: the write transaction starts with BEGIN IMMEDIATE, which serialises writers; the
  second worker waits, then reads timers as the first one left them.
The optimistic lock on `instances.lock_version` stays as the last line of defence (any other
writer, e.g. a task completion racing a timer, gets a Conflict and retries).
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, text, update
from SpiffWorkflow.task import TaskState

from . import runner, spiff
from .clock import utcnow
from .errors import Conflict, EngineError, NotFound
from .instances import load_handle
from .projection import find_task
from .retry import backoff_seconds
from .runner import MAX_INCIDENT_TEXT
from .schema import incidents, instances, timers

log = logging.getLogger(__name__)

ACTOR = "system:timer"


class StepFailed(EngineError):
    """The step opened an incident and the caller asked to retry instead: rolled back."""


class JobFailed(EngineError):
    """An async task failed before its last attempt: roll back, try again later."""

    def __init__(self, message: str, attempt: int):
        super().__init__(message)
        self.attempt = attempt
        self.delay = 0.0


class JobPostponed(EngineError):
    """Raised to a caller of fire_instance: the async task failed and was pushed back."""

    def __init__(self, message: str, delay: float):
        super().__init__(message)
        self.delay = delay


def due_instances(conn, now: datetime, limit: int = 100) -> list[str]:
    rows = conn.execute(select(timers.c.instance_id, timers.c.due_at)
                        .where(timers.c.due_at <= now).order_by(timers.c.due_at)
                        .limit(limit * 4)).all()
    seen: list[str] = []
    for r in rows:
        if r.instance_id not in seen:
            seen.append(r.instance_id)
    return seen[:limit]


def claim_next(conn, now: datetime, skip: set[str] | None = None) -> str | None:
    """Inside a write transaction: the id of the running instance whose timer has been due
    longest, that no other transaction holds, now locked by this one (PostgreSQL), or None.
    Read in due order from the timers' due_at index: a backlog of thousands of due timers
    costs no more per claim than one."""
    query = _CLAIM_NEXT[conn.dialect.name == "postgresql"][bool(skip)]
    return conn.execute(query, {"now": now, "skip": sorted(skip or ())}).scalar()


def _claim_next_query(postgresql: bool, skipping: bool):
    # SQLite: the unary plus keeps it from starting at the state index (every running
    # instance) and sorting; the due_at index gives the oldest due timer at once
    running = instances.c.state == "running" if postgresql else \
        text("+instances.state = 'running'")
    query = (select(timers.c.instance_id)
             .join(instances, instances.c.id == timers.c.instance_id)
             .where(timers.c.due_at <= bindparam("now"), running))
    if skipping:
        query = query.where(timers.c.instance_id.not_in(bindparam("skip", expanding=True)))
    query = query.order_by(timers.c.due_at).limit(1)
    return query.with_for_update(skip_locked=True, of=instances) if postgresql else query


# Built once (by database, with or without a skip list): a pass claims once per instance.
_CLAIM_NEXT = {pg: {skipping: _claim_next_query(pg, skipping) for skipping in (False, True)}
               for pg in (False, True)}
_DUE_TIMERS = (select(timers.c.task_id, timers.c.element_id, timers.c.kind, timers.c.attempts)
               .where(timers.c.instance_id == bindparam("instance_id"),
                      timers.c.due_at <= bindparam("now")))


def claim(conn, instance_id: str) -> bool:
    """Lock one given instance row for this transaction; False when another worker holds it
    (PostgreSQL) or it does not exist. SQLite: BEGIN IMMEDIATE already holds the database."""
    query = select(instances.c.id).where(instances.c.id == instance_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return conn.execute(query).scalar() is not None


def _fire_claimed(engine, unit, instance_id: str, incident_ok: bool = True) -> list[str]:
    due = unit.conn.execute(_DUE_TIMERS, {"instance_id": instance_id, "now": unit.now}).all()
    if not due:
        return []
    handle = load_handle(engine, unit, instance_id)
    if handle.state != "running":
        return []
    waiting = [t for t in due if t.kind != "async"]
    before = {t.task_id: _event_value(find_task(handle.wf, t.task_id)) for t in waiting}
    handle.wf.refresh_timers()
    fired = []
    for t in waiting:
        task = find_task(handle.wf, t.task_id)
        # a cycle timer keeps waiting after it fires, with its next due time
        if task is not None and (not task.has_state(TaskState.WAITING)
                                 or _event_value(task) != before[t.task_id]):
            fired.append(t.element_id)
            unit.record("timer.fired", handle.id, t.task_id, element_id=t.element_id)
    jobs = [t for t in due if t.kind == "async"]
    # a job's service may write (a document's number): a failed attempt's writes roll back
    # to here, while the claim on the instance row is kept until its back-off is written
    savepoint = unit.conn.begin_nested() if jobs else None
    try:
        for t in jobs:
            if handle.state == "running" and _run_job(engine, unit, handle, t, incident_ok):
                fired.append(t.element_id)
    except JobFailed:
        savepoint.rollback()
        raise
    if handle.state == "running":
        runner.advance(engine, unit, handle)
    if handle.state == "error" and not incident_ok:
        text = handle.new_incidents[-1]["message"] if handle.new_incidents else "step failed"
        raise StepFailed(text)
    runner.persist(engine, unit, handle)
    if savepoint is not None:
        savepoint.commit()
    return fired


def _fire_or_postpone(engine, unit, instance_id: str, incident_ok: bool = True
                      ) -> tuple[list[str], "JobFailed | None"]:
    """Fire a claimed instance; a failing async job before its last attempt leaves nothing
    of the step and is pushed back in the same transaction (no other worker can take the
    instance between the failure and its back-off)."""
    marks = (len(unit.events), len(unit.after_commit))
    try:
        return _fire_claimed(engine, unit, instance_id, incident_ok), None
    except JobFailed as failed:
        del unit.events[marks[0]:]
        del unit.after_commit[marks[1]:]
        failed.delay = _postpone(engine, unit, instance_id, failed)
        return [], failed


def _run_job(engine, unit, handle, job, incident_ok: bool) -> bool:
    """Run one async service/script task. Before its last attempt a failure raises JobFailed
    (the transaction rolls back, the row is pushed back); the last one opens the incident."""
    task = find_task(handle.wf, job.task_id)
    if task is None or not task.has_state(TaskState.READY):
        return False
    attempt = job.attempts + 1
    try:
        task.run()
    except Exception as exc:
        if incident_ok and attempt < engine.settings.job_attempts:
            raise JobFailed(runner.describe(exc), attempt) from exc
        runner.open_incident(unit, handle, exc)
        return False
    unit.record("job.completed", handle.id, job.task_id, element_id=job.element_id,
                attempt=attempt)
    return True


def backoff(engine, attempt: int) -> float:
    """Seconds before the next attempt: doubling from job_backoff_seconds, capped at 5 min."""
    return backoff_seconds(attempt, engine.settings.job_backoff_seconds)


def _postpone(engine, unit, instance_id: str, failed: "JobFailed") -> float:
    delay = backoff(engine, failed.attempt)
    unit.conn.execute(update(timers).where(timers.c.instance_id == instance_id,
                                           timers.c.kind == "async")
                      .values(attempts=failed.attempt,
                              due_at=unit.now + timedelta(seconds=delay)))
    unit.record("job.failed", instance_id, None, attempt=failed.attempt,
                retry_in_seconds=delay, message=failed.message)
    log.warning("async task of %s failed (attempt %d), retry in %.1f s: %s", instance_id,
                failed.attempt, delay, failed.message)
    return delay


def fire_instance(engine, instance_id: str, actor: str = ACTOR,
                  incident_ok: bool = True) -> list[str]:
    """Fire what is due on one instance (timers, async tasks); returns the element ids that
    fired. A failing async task before its last attempt is pushed back (JobPostponed).
    With incident_ok=False any failing step raises StepFailed and nothing is written."""
    with engine.unit(actor) as unit:
        if not claim(unit.conn, instance_id):
            return []          # another worker is firing it right now
        fired, failed = _fire_or_postpone(engine, unit, instance_id, incident_ok)
    if failed is not None:
        raise JobPostponed(failed.message, failed.delay)
    return fired


def fire_next(engine, skip: set[str], actor: str = ACTOR) -> tuple[str | None, list[str]]:
    """Claim one due instance and fire it, in one transaction."""
    with engine.unit(actor) as unit:
        claimed = claim_next(unit.conn, unit.now, skip)
        if claimed is None:
            return None, []
        skip.add(claimed)
        fired, _failed = _fire_or_postpone(engine, unit, claimed)
    if fired:
        # committed: it may be claimed again this pass (a cycle catching up); the skip list
        # keeps only instances that fired nothing or failed, so the claim stays cheap
        skip.discard(claimed)
    return claimed, fired


def _event_value(task):
    """A copy: spiff updates a cycle timer's value in place when it fires."""
    value = None if task is None else spiff.event_value(task)
    return dict(value) if isinstance(value, dict) else value


def fire_due(engine, limit: int = 100) -> int:
    """One pass over due timers; returns how many timers fired. Safe to run in any number of
    processes at once: each instance is claimed before it is loaded. On PostgreSQL the pass
    runs in `EngineSettings.timer_threads` threads (a fire waits on the database most of the
    time; SKIP LOCKED gives each thread other instances); SQLite has one writer: one."""
    threads = 1 if engine.db.sqlite else max(1, engine.settings.timer_threads)
    if threads == 1:
        return _fire_pass(engine, limit)
    share = -(-limit // threads)
    with ThreadPoolExecutor(threads, thread_name_prefix="jianguan-fire") as pool:
        return sum(pool.map(lambda _i: _fire_pass(engine, share), range(threads)))


def _fire_pass(engine, limit: int) -> int:
    count = 0
    skip: set[str] = set()
    for _ in range(limit):
        try:
            instance_id, fired = fire_next(engine, skip)
        except (Conflict, NotFound):
            continue   # another writer changed it in between; the next pass sees it again
        except Exception:
            # one broken instance must not stop the others: log and go on with the next
            log.exception("firing timers failed")
            if not skip:
                raise
            continue
        if instance_id is None:
            break
        count += len(fired)
    return count


def record_incident(engine, instance_id: str, kind: str, message: str,
                    actor: str = "system:worker") -> bool:
    """A background task that keeps failing leaves an incident on its instance: state `error`,
    visible in the instance and retryable through POST /instances/{id}/retry. False when the
    instance is gone or already finished."""
    with engine.unit(actor) as unit:
        row = unit.conn.execute(select(instances.c.state, instances.c.lock_version)
                                .where(instances.c.id == instance_id)).first()
        if row is None or row.state in ("completed", "cancelled"):
            return False
        text = message[:MAX_INCIDENT_TEXT]
        unit.conn.execute(insert(incidents).values(
            instance_id=instance_id, task_id=None, element_id=None, kind=kind, message=text,
            created_at=unit.now))
        unit.conn.execute(update(instances).where(instances.c.id == instance_id).values(
            state="error", lock_version=row.lock_version + 1, updated_at=unit.now))
        unit.record("incident.opened", instance_id, None, element_id=None, message=text)
        return True


__all__ = ["fire_due", "fire_instance", "fire_next", "claim", "claim_next", "due_instances",
           "record_incident", "backoff", "StepFailed", "JobFailed", "JobPostponed", "utcnow"]
