"""Moving one instance forward inside a transaction: run engine steps to the next wait state,
turn failures into incidents, hand buffered messages to subscriptions that just opened, and
save the result with its projections."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import TaskState

from . import driver, spiff, store
from .budget import Budget, BudgetExceeded, CycleTooShort, short_cycle
from .projection import Waits, element_id, find_task, message_keys, read_waits
from .schema import incidents, messages
from .errors import Invalid
from .services import ServiceContext, ServiceRefusal
from .store import Unit

MAX_ROUNDS = 20
MAX_INCIDENT_TEXT = 2000


@dataclass
class Handle:
    """An instance being worked on in this transaction (new or loaded)."""

    id: str
    definition: object            # definitions row
    business_key: str | None
    scope_key: str | None
    wf: BpmnWorkflow
    row: object = None            # instances row when loaded; None when new
    state: str = "running"
    touched_messages: list = field(default_factory=list)
    new_incidents: list = field(default_factory=list)   # written once the instance row is
    previous: object = None       # projection as stored (store.projected), or None: read it
    settled: object = None        # read_waits of the workflow as advance left it, if unchanged

    @property
    def process_key(self) -> str:
        return self.definition.key


def new_instance_id() -> str:
    return str(uuid.uuid4())


def attach_scripts(engine, handle: Handle, unit: Unit) -> None:
    """A fresh script engine per step: its service context points at this transaction."""
    scripts = engine.new_scripts()

    def start(process_key: str, business_key: str | None, variables: dict) -> str:
        from .instances import start as start_instance

        return start_instance(engine, unit, process_key, business_key, variables).id

    def context(task) -> ServiceContext:
        return ServiceContext(instance_id=handle.id, process_key=handle.process_key,
                              business_key=handle.business_key, element_id=element_id(task),
                              data=dict(task.data), now=unit.now, conn=unit.conn, start=start,
                              record=lambda kind, **details: unit.record(
                                  kind, handle.id, str(task.id), **details))
    scripts.context_factory = context
    handle.wf.script_engine = scripts


def advance(engine, unit: Unit, handle: Handle) -> None:
    """Run to the next wait state, delivering buffered messages as subscriptions open. The
    whole run is bounded by one budget of engine steps and seconds."""
    tried: set[tuple[str, int]] = set()
    budget = Budget(engine.settings, handle.wf)
    handle.settled = None
    for _ in range(MAX_ROUNDS):
        if not _steps(engine, unit, handle, budget):
            return
        if handle.wf.completed:
            return
        if not _deliver_buffered(engine, unit, handle, tried):
            return


def steps(engine, unit: Unit, handle: Handle, budget: Budget | None = None) -> bool:
    """Engine steps to the next wait state; False when they ended in an incident."""
    return _steps(engine, unit, handle, budget or Budget(engine.settings, handle.wf))


def _steps(engine, unit: Unit, handle: Handle, budget: Budget) -> bool:
    try:
        spiff.run_engine_steps(handle.wf, budget.spend)
        short_cycle(handle.wf, budget.min_cycle)    # armed by the last step of the run
        return True
    except Exception as exc:  # designer code, services, spiff: all become incidents
        refusal = _refusal(exc)
        if refusal is not None:
            raise Invalid(str(refusal), {"_process": [str(refusal)]}) from exc
        open_incident(unit, handle, exc, getattr(exc, "task", None))
        return False


def _refusal(exc: BaseException) -> ServiceRefusal | None:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ServiceRefusal):
            return exc
        exc = getattr(exc, "exception", None) or exc.__cause__
        seen += 1
    return None


def open_incident(unit: Unit, handle: Handle, exc: Exception, task=None) -> None:
    if task is None:
        failed = handle.wf.get_tasks(state=TaskState.ERROR)
        task = failed[0] if failed else None
    text = describe(exc)
    handle.state = "error"
    handle.new_incidents.append(dict(
        instance_id=handle.id, task_id=str(task.id) if task else None,
        element_id=element_id(task) if task else None, kind=_kind(exc), message=text,
        created_at=unit.now))
    unit.record("incident.opened", handle.id, str(task.id) if task else None,
                element_id=element_id(task) if task else None, message=text)


def describe(exc: Exception) -> str:
    inner = getattr(exc, "exception", None) or exc.__cause__
    text = str(exc)
    if inner is not None and str(inner) and str(inner) not in text:
        text = f"{text}: {inner}"
    notes = [n for n in getattr(exc, "__notes__", []) if n not in text]
    if notes:
        text += " (" + "; ".join(notes) + ")"
    return text[:MAX_INCIDENT_TEXT]


def _kind(exc: Exception) -> str:
    if isinstance(exc, BudgetExceeded):
        return "budget"
    if isinstance(exc, CycleTooShort):
        return "timer"
    chain = f"{type(exc).__name__} {type(getattr(exc, 'exception', None)).__name__}"
    if "ScriptError" in chain or "Script" in str(exc)[:40]:
        return "script"
    if "ServiceFailure" in chain or "服务" in str(exc):
        return "service"
    return "engine"


def deliver(handle: Handle, task_id: str, name: str, payload, correlation: dict) -> bool:
    """Hand one message to one waiting task; False when it no longer waits for it."""
    task = find_task(handle.wf, task_id)
    if task is not None and task is handle.wf.task_tree:
        task = _event_subprocess_start(handle.wf, name)
    if task is None or not task.has_state(TaskState.WAITING):
        return False
    definition = task.task_spec.event_definition
    candidates = definition.event_definitions if isinstance(
        definition, MultipleEventDefinition) else [definition]
    ed = next((c for c in candidates if isinstance(c, MessageEventDefinition) and c.name == name),
              None)
    if ed is None:
        return False
    ed.update_internal_data(task, BpmnEvent(ed, payload if payload is not None else {}, {}))
    for cp in ed.correlation_properties:
        if cp.name in correlation:
            for key in cp.correlation_keys or [cp.name]:
                handle.wf.correlations.setdefault(key, {})[cp.name] = correlation[cp.name]
    spiff.fire_event(task)
    if getattr(task.task_spec, "cancel_activity", True) is False and task.parent is not None:
        spiff.arm_again(task)
    return True


def _event_subprocess_start(wf: BpmnWorkflow, name: str):
    """A message for an event subprocess's start (its subscription is on the root task):
    the subprocess is opened and its start event is the task that receives it."""
    for spec_name, start in spiff.event_subprocess_starts(wf):
        ed = start.event_definition
        if isinstance(ed, MessageEventDefinition) and ed.name == name:
            return spiff.open_event_subprocess(wf, spec_name, start.name)
    return None


# Built once: a statement built on each step costs more than running it. One message name a
# statement (a step opens one or two): an expanding IN list would take SQLAlchemy's slow path.
_BUFFERED = driver.Prebuilt(select(messages)
                            .where(messages.c.status == "buffered",
                                   messages.c.name == bindparam("name"),
                                   messages.c.expires_at > bindparam("now"))
                            .order_by(messages.c.id))


def _deliver_buffered(engine, unit: Unit, handle: Handle, tried: set) -> bool:
    """Zeebe-style buffering: a message that arrived before anyone waited is delivered to the
    first subscription that opens and matches it. Returns True when something was delivered."""
    waits = read_waits(handle.wf)
    # a subscription that existed before this step checked the buffer when it opened, and
    # messages arriving since found it in the table: only new ones need to look
    known = {(s.task_id, s.message_name, s.match_key)
             for s in (handle.previous.subscriptions if handle.previous is not None else ())}
    fresh = [s for s in waits.subscriptions
             if s.match_key and (s.task_id, s.message_name, s.match_key) not in known]
    names = {s.message_name for s in fresh}
    if not names:
        handle.settled = waits        # nothing more happens to the workflow in advance
        return False
    rows = sorted((msg for name in sorted(names)
                   for msg in _BUFFERED.all(unit.conn, {"name": name, "now": unit.now})),
                  key=lambda msg: msg.id)
    delivered = False
    for msg in rows:
        keys = set(message_keys(msg.correlation or {}))
        for sub in fresh:
            if (sub.task_id, msg.id) in tried or sub.message_name != msg.name \
                    or sub.match_key not in keys:
                continue
            tried.add((sub.task_id, msg.id))
            if deliver(handle, sub.task_id, msg.name, msg.payload, msg.correlation or {}):
                result = {"correlated": [handle.id], "started": [], "buffered": False}
                unit.conn.execute(update(messages).where(messages.c.id == msg.id)
                                  .values(status="correlated", result=result))
                unit.record("message.correlated", handle.id, sub.task_id, name=msg.name,
                            message_id=msg.message_id, element_id=sub.element_id,
                            correlation=msg.correlation, buffered=True)
                delivered = True
                break
        if delivered:
            return True
    handle.settled = waits
    return False


def state_of(handle: Handle) -> str:
    if handle.state in ("error", "cancelled"):
        return handle.state
    return "completed" if handle.wf.completed else "running"


def persist(engine, unit: Unit, handle: Handle) -> None:
    """Write the instance (insert or optimistic update) and its projections: reads first,
    then the writes in one pipeline (one round trip on PostgreSQL)."""
    state = state_of(handle)
    new = handle.row is None
    previous = Waits() if new else handle.previous
    if previous is None:
        previous = store.stored_waits(unit.conn, handle.id)
    saved = None
    try:
        with driver.pipeline(unit.conn):
            if new:
                store.insert_instance(unit, instance_id=handle.id, definition=handle.definition,
                                      business_key=handle.business_key,
                                      scope_key=handle.scope_key, state=state, wf=handle.wf)
            else:
                saved = store.save_instance(unit, handle.row, handle.wf, state)
            waits = store.sync_projection(
                unit, handle.id, handle.process_key, handle.scope_key, handle.wf,
                engine.role_of, finished=state in ("completed", "cancelled"),
                previous=previous, current=handle.settled)
    except DBAPIError:
        # Another writer saved first: the projection writes sent after the refused save may
        # have collided with its rows (the same task ids). That is the lost race, not a fault.
        if saved is not None:
            store.check_saved(saved)
        raise
    if saved is not None:
        store.check_saved(saved)
    version = 1 if new else handle.row.lock_version + 1
    if handle.new_incidents:
        unit.conn.execute(insert(incidents), handle.new_incidents)
        handle.new_incidents = []
    handle.settled = None
    # once committed, the next step of this instance in this process starts from this object
    wf = handle.wf
    unit.after_commit.append(lambda: engine.workflows.put(handle.id, version, wf, waits))
    if waits.fresh_jobs and engine.wake is not None:
        unit.after_commit.append(lambda: engine.wake(handle.id))
    previous = handle.row.state if handle.row is not None else None
    if state == "completed" and previous != "completed":
        unit.record("instance.completed", handle.id)
    handle.state = state
