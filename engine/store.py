"""Loading and saving instances inside one transaction, with the optimistic lock, and writing
the projections (open tasks, subscriptions, timers) that let everything else avoid blobs."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import TaskState

from . import audit, spiff
from .driver import Prebuilt, Ran
from .errors import NotFound, StaleWrite
from .projection import Waits, element_id, find_task, read_waits
from .schema import definitions, instances, subscriptions, tasks, timers
from .serializer import SpecCache, dump_workflow, load_workflow
from .workflow_cache import WorkflowCache
from engine.i18n import _

MAX_VARIABLES_BYTES = 256_000


@dataclass
class Unit:
    """One transaction's work: who acts, when, and the audit events it will append."""

    conn: Connection
    actor: str
    now: datetime
    events: list[audit.PendingEvent] = field(default_factory=list)
    after_commit: list = field(default_factory=list)     # callables run once committed
    audit_key: bytes | None = None                        # the chain's HMAC key (engine.audit)

    def record(self, kind: str, instance_id: str | None = None, task_id: str | None = None,
               **details) -> None:
        self.events.append(audit.PendingEvent(self.actor, kind, instance_id, task_id, details))

    def finish(self) -> None:
        audit.append(self.conn, self.events, self.audit_key)
        self.events = []


@dataclass
class Loaded:
    row: object
    workflow: BpmnWorkflow
    waits: Waits | None = None     # the projection as stored, when the cache knew it


def load_specs(conn: Connection, cache: SpecCache, definition_id: int):
    def loader():
        compiled = conn.execute(select(definitions.c.compiled)
                                .where(definitions.c.id == definition_id)).scalar_one()
        return compiled if isinstance(compiled, dict) else json.loads(compiled)
    return cache.get(definition_id, loader)


# Built once: these run on every step, and building a statement costs more than running it.
# The blob is read only when the workflow cache does not hold the row's version.
INSTANCE_COLUMNS = [c for c in instances.c if c.name != "blob"]
_LOAD = select(*INSTANCE_COLUMNS).where(
    instances.c.id == bindparam("instance_id"))
_LOAD_FULL = select(instances).where(instances.c.id == bindparam("instance_id"))
_BLOB = select(instances.c.blob, instances.c.lock_version).where(
    instances.c.id == bindparam("instance_id"))
# The writes of every step run on the driver's cursor (engine.driver): one row each, or many
# rows of one statement (executemany) where SQLAlchemy would expand an IN list.
_SAVE = Prebuilt(update(instances)
                 .where(instances.c.id == bindparam("instance_id"),
                        instances.c.lock_version == bindparam("expected_version"))
                 .values(blob=bindparam("blob"), variables=bindparam("variables"),
                         completed_elements=bindparam("completed"),
                         state=bindparam("state"), lock_version=bindparam("new_version"),
                         updated_at=bindparam("now"), ended_at=bindparam("ended")))


def _inserting(table, columns) -> Prebuilt:
    return Prebuilt(insert(table).values({c: bindparam(c) for c in columns}))


_INSTANCE_FIELDS = ("id", "definition_id", "process_key", "version", "business_key",
                    "scope_key", "state", "lock_version", "blob", "variables",
                    "completed_elements", "started_by", "started_at", "updated_at", "parent_id",
                    "ended_at")
_TASK_FIELDS = ("id", "instance_id", "process_key", "element_id", "name", "lane", "role",
                "form_key", "scope_key", "state", "due_at", "assignee", "created_at")
_SUBSCRIPTION_FIELDS = ("instance_id", "task_id", "element_id", "message_name", "correlation",
                        "match_key", "created_at")
_TIMER_FIELDS = ("instance_id", "task_id", "element_id", "kind", "due_at", "attempts")
_INSERT_INSTANCE = _inserting(instances, _INSTANCE_FIELDS)
_INSERT_TASKS = _inserting(tasks, _TASK_FIELDS)
_INSERT_SUBSCRIPTIONS = _inserting(subscriptions, _SUBSCRIPTION_FIELDS)
_INSERT_TIMERS = _inserting(timers, _TIMER_FIELDS)
_CLOSE_TASK = Prebuilt(update(tasks)
                       .where(tasks.c.id == bindparam("task_id"), tasks.c.state == "open")
                       .values(state=bindparam("to_state"), ended_at=bindparam("at"),
                               ended_by=bindparam("by")))
_MOVE_DUE = Prebuilt(update(tasks).where(tasks.c.id == bindparam("task_id"))
                     .values(due_at=bindparam("due_at")))
_DELETE_SUBSCRIPTION = Prebuilt(delete(subscriptions).where(
    subscriptions.c.instance_id == bindparam("instance_id"),
    subscriptions.c.task_id == bindparam("task_id"),
    subscriptions.c.message_name == bindparam("message_name")))
_DELETE_TIMER = Prebuilt(delete(timers).where(
    timers.c.instance_id == bindparam("instance_id"), timers.c.task_id == bindparam("task_id"),
    timers.c.element_id == bindparam("element_id")))


def load(conn: Connection, cache: SpecCache, instance_id: str,
         workflows: WorkflowCache | None = None, row=None) -> Loaded:
    """The instance row (without its blob; given, when the caller read it already in this
    transaction) and its workflow: the cached object when the cache holds this row's
    lock_version (then owned by the caller), else the blob's."""
    blob = None
    if row is None:
        if workflows is not None and workflows.holds(instance_id):
            row = conn.execute(_LOAD, {"instance_id": instance_id}).first()
        else:
            # the cache cannot help (a timer's instance, another process's): row and blob in
            # one read, one statement fewer than reading the blob after the row
            full = conn.execute(_LOAD_FULL, {"instance_id": instance_id}).first()
            if full is not None:
                row, blob = full, full.blob
    if row is None:
        raise NotFound(_("流程实例不存在: {instance_id}").format(instance_id=instance_id))
    entry = workflows.take(row.id, row.lock_version) if workflows is not None else None
    if entry is None:
        if blob is not None:
            return Loaded(row, workflow_of(conn, cache, row.definition_id, blob))
        return Loaded(row, load_blob(conn, cache, row))
    return Loaded(row, entry.workflow, entry.waits)


def load_blob(conn: Connection, cache: SpecCache, row) -> BpmnWorkflow:
    found = conn.execute(_BLOB, {"instance_id": row.id}).first()
    if found is None or found.lock_version != row.lock_version:
        # another writer committed between the two reads (PostgreSQL, read committed)
        raise StaleWrite(_("流程实例已被他人更新, 请刷新后重试"))
    return workflow_of(conn, cache, row.definition_id, found.blob)


def workflow_of(conn: Connection, cache: SpecCache, definition_id: int,
                blob: bytes) -> BpmnWorkflow:
    return load_workflow(blob, load_specs(conn, cache, definition_id))


def completed_elements(wf: BpmnWorkflow, before=None) -> list[str]:
    """BPMN elements completed so far: those in the workflow now and those recorded before
    (finished history may have been cut out of the workflow since)."""
    done = set(before or ())
    done.update(element_id(t) for t in spiff.tasks_in_state(wf, TaskState.COMPLETED)
                if t.task_spec.bpmn_id)
    return sorted(done)


def variables_of(wf: BpmnWorkflow) -> dict:
    """The instance's variables as people see them: the data of its latest task, then the
    workflow's data objects (which a branch that ends early, such as a non-interrupting
    boundary event's, writes for the whole instance to keep)."""
    task = wf.last_task or wf.task_tree
    data = dict(task.data) if task is not None else {}
    data.update({k: v for k, v in (wf.data or {}).items() if k != "data_objects"})
    data.update({k: v for k, v in wf.data_objects.items() if v is not None})
    text = json.dumps(data, ensure_ascii=False, default=str)
    if len(text.encode()) > MAX_VARIABLES_BYTES:
        return {"_truncated": True}
    return json.loads(text)


def insert_instance(unit: Unit, *, instance_id: str, definition, business_key: str | None,
                    scope_key: str | None, state: str, wf: BpmnWorkflow,
                    parent_id: str | None = None) -> None:
    _INSERT_INSTANCE.run(unit.conn, dict(
        id=instance_id, definition_id=definition.id, process_key=definition.key,
        version=definition.version, business_key=business_key, scope_key=scope_key,
        state=state, lock_version=1, blob=dump_workflow(wf), variables=variables_of(wf),
        completed_elements=completed_elements(wf), started_by=unit.actor,
        started_at=unit.now, updated_at=unit.now, parent_id=parent_id,
        ended_at=unit.now if state in ("completed", "cancelled") else None))


def save_instance(unit: Unit, row, wf: BpmnWorkflow, state: str) -> Ran:
    """Write the workflow over the version it was loaded at. Inside a pipeline the row count
    comes later: `check_saved` it once the pipeline has ended."""
    ended = unit.now if state in ("completed", "cancelled") else None
    return _SAVE.run(unit.conn, {
        "instance_id": row.id, "expected_version": row.lock_version, "blob": dump_workflow(wf),
        "variables": variables_of(wf), "state": state, "new_version": row.lock_version + 1,
        "completed": completed_elements(wf, row.completed_elements),
        "now": unit.now, "ended": ended})


def check_saved(saved: Ran) -> None:
    if saved.rowcount != 1:
        raise StaleWrite(_("流程实例已被他人更新, 请刷新后重试"))


def projected(wf: BpmnWorkflow, state: str) -> Waits:
    """What the projection tables hold for a stored workflow in this state (the projection is
    always written from the same function, so it can be recomputed instead of read back)."""
    return Waits() if state in ("completed", "cancelled") else read_waits(wf)


def stored_waits(conn: Connection, instance_id: str) -> Waits:
    """What the projection tables hold for an instance, read back (rows with the fields
    sync_projection compares), when it cannot be recomputed."""
    return Waits(
        tasks=conn.execute(select(tasks.c.id, tasks.c.due_at).where(
            tasks.c.instance_id == instance_id, tasks.c.state == "open")).all(),
        subscriptions=conn.execute(select(
            subscriptions.c.task_id, subscriptions.c.message_name, subscriptions.c.match_key)
            .where(subscriptions.c.instance_id == instance_id)).all(),
        timers=conn.execute(select(timers.c.task_id, timers.c.element_id, timers.c.kind,
                                   timers.c.due_at)
                            .where(timers.c.instance_id == instance_id)).all())


def sync_projection(unit: Unit, instance_id: str, process_key: str, scope_key: str | None,
                    wf: BpmnWorkflow, role_of, finished: bool, previous: Waits,
                    current: Waits | None = None) -> Waits:
    """Bring tasks, subscriptions and timers in line with the workflow. `previous` is what the
    tables hold (from `projected` at load, `stored_waits`, or empty for a new instance): only
    writes here, so they may go out in one pipeline. `current` is read_waits(wf) when the
    caller has it already. Returns what it waits for; subscriptions that did not exist before
    are flagged for buffered-message delivery."""
    conn = unit.conn
    waits = Waits() if finished else current if current is not None else read_waits(wf)
    open_rows = {t.id: t for t in previous.tasks}
    current = {t.id: t for t in waits.tasks}
    closed = []
    for task_id in sorted(set(open_rows) - set(current)):
        spiff_task = find_task(wf, task_id)
        done = spiff_task is not None and spiff_task.has_state(TaskState.COMPLETED)
        closed.append({"task_id": task_id, "to_state": "completed" if done else "cancelled",
                       "at": unit.now, "by": unit.actor if done else None})
    if closed:
        _CLOSE_TASK.run(conn, closed)
    new_rows = [dict(id=t.id, instance_id=instance_id, process_key=process_key,
                     element_id=t.element_id, name=t.name, lane=t.lane, role=role_of(t.lane),
                     form_key=t.form_key, scope_key=scope_key, state="open", due_at=t.due_at,
                     assignee=t.assignee, created_at=unit.now)
                for tid, t in current.items() if tid not in open_rows]
    if new_rows:
        _INSERT_TASKS.run(conn, new_rows)
    moved = [{"task_id": tid, "due_at": t.due_at} for tid, t in current.items()
             if tid in open_rows and _differs(open_rows[tid].due_at, t.due_at)]
    if moved:
        _MOVE_DUE.run(conn, moved)

    old_subs = {(r.task_id, r.message_name, r.match_key) for r in previous.subscriptions}
    new_subs = {(s.task_id, s.message_name, s.match_key): s for s in waits.subscriptions}
    gone_subs = old_subs - set(new_subs)
    if gone_subs:
        _DELETE_SUBSCRIPTION.run(conn, [
            {"instance_id": instance_id, "task_id": task_id, "message_name": name}
            for task_id, name in sorted({(k[0], k[1]) for k in gone_subs})])
    added_subs = [s for k, s in new_subs.items() if k not in old_subs]
    if added_subs:
        _INSERT_SUBSCRIPTIONS.run(conn, [dict(
            instance_id=instance_id, task_id=s.task_id, element_id=s.element_id,
            message_name=s.message_name, correlation=s.correlation, match_key=s.match_key,
            created_at=unit.now) for s in added_subs])
    waits.fresh_subscriptions = added_subs

    # Only the rows that changed are touched: an async job's row keeps its due time and
    # attempts (back-off) while it waits, whatever a cycle timer beside it does.
    old_timers = {_timer_key(r) for r in previous.timers}
    new_timers = {_timer_key(t): t for t in waits.timers}
    gone = old_timers - set(new_timers)
    if gone:
        _DELETE_TIMER.run(conn, [
            {"instance_id": instance_id, "task_id": task_id, "element_id": element}
            for task_id, element in sorted({(k[0], k[1]) for k in gone})])
    added = [t for k, t in new_timers.items() if k not in old_timers]
    if added:
        _INSERT_TIMERS.run(conn, [dict(
            instance_id=instance_id, task_id=t.task_id, element_id=t.element_id,
            kind=t.kind, due_at=t.due_at or unit.now, attempts=0) for t in added])
    waits.fresh_jobs = [t.task_id for t in added if t.kind == "async"]
    return waits


def _timer_key(t) -> tuple:
    return (t.task_id, t.element_id, None if t.kind == "async" else _naive(t.due_at))


def _naive(dt: datetime | None):
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc)
    return dt.replace(tzinfo=None, microsecond=0)


def _differs(a: datetime | None, b: datetime | None) -> bool:
    return _naive(a) != _naive(b)
