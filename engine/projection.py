"""What a workflow waits for, read off the SpiffWorkflow object: its open user tasks, message
subscriptions and timers. Pure functions; `store` writes the result."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition,
                                                              TimeDateEventDefinition,
                                                              TimerEventDefinition)
from SpiffWorkflow.bpmn.specs.defaults import EventBasedGateway
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import TaskState

from . import spiff

MAX_CORRELATION_PROPS = 8


@dataclass
class OpenTask:
    id: str
    element_id: str
    name: str
    lane: str | None
    form_key: str | None
    due_at: datetime | None = None
    assignee: str | None = None        # preset by the diagram (property `assignee`)


@dataclass
class Subscription:
    task_id: str
    element_id: str
    message_name: str
    correlation: dict           # property -> instance-side value (None when unknown)
    match_key: str | None       # None: a property has no usable value, so nothing matches


@dataclass
class Timer:
    task_id: str
    element_id: str
    kind: str                          # date | duration | cycle | async
    due_at: datetime | None            # None for async: due when the step commits
    attached_to: str | None = None     # element id of the task a boundary timer sits on
    interrupting: bool = True


@dataclass
class Waits:
    tasks: list[OpenTask] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    fresh_subscriptions: list[Subscription] = field(default_factory=list)
    fresh_jobs: list[str] = field(default_factory=list)     # async tasks new in this step


def match_key(props: dict) -> str:
    """Stable hash of property -> value; values compared as text (devices send numbers too)."""
    canon = json.dumps(sorted((k, str(v)) for k, v in props.items()), ensure_ascii=False)
    return hashlib.sha256(canon.encode()).hexdigest()


def usable(value) -> bool:
    return value is not None and str(value).strip() != ""


def message_keys(correlation: dict) -> list[str]:
    """Every match key a message with this correlation can satisfy: one per subset of its
    usable properties (a subscription matches when all of its own properties agree)."""
    items = sorted((k, v) for k, v in correlation.items() if usable(v))[:MAX_CORRELATION_PROPS]
    keys = []
    for size in range(len(items) + 1):
        for combo in combinations(items, size):
            keys.append(match_key(dict(combo)))
    return keys


def find_task(wf: BpmnWorkflow, task_id: str):
    """The spiff task with this id, or None when it no longer exists (e.g. a finished
    subprocess was removed)."""
    try:
        return wf.get_task_from_id(UUID(task_id))
    except Exception:
        return None


def element_id(task) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name


def preset_assignee(task) -> str | None:
    """The spiff property `assignee` names a task-data path (e.g. `expert.username`) whose value
    is the one user who may work the task, as in a multi-instance task per drawn expert."""
    path = ((task.task_spec.extensions or {}).get("properties") or {}).get("assignee")
    value = task.data
    for part in (path or "").split(".") if path else []:
        value = value.get(part) if isinstance(value, dict) else None
    return str(value)[:100] if path and isinstance(value, (str, int)) and str(value) else None


def is_async(spec) -> bool:
    """A service or script task marked `async` (spiff property): the step that reaches it
    commits and a background worker runs it (compiler marks it manual so spiff stops there)."""
    if not isinstance(spec, ScriptEngineTask):
        return False
    props = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    return str(props.get("async", "")).lower() in ("true", "1", "yes")


def form_key(task) -> str | None:
    props = (task.task_spec.extensions or {}).get("properties") or {}
    return props.get("formKey") or props.get("form") or element_id(task)


def read_waits(wf: BpmnWorkflow) -> Waits:
    waits = Waits()
    for task in wf.event_manager.tasks.values():
        if not task.has_state(TaskState.WAITING):
            continue
        for ed, element in _definitions(task):
            if isinstance(ed, MessageEventDefinition):
                waits.subscriptions.append(_subscription(wf, task, ed, element))
            elif isinstance(ed, TimerEventDefinition):
                due = _timer_due(task, ed)
                if due is not None:
                    waits.timers.append(Timer(
                        str(task.id), element, _kind(ed), due, _attached_to(task),
                        bool(getattr(task.task_spec, "cancel_activity", True))))
    waits.subscriptions += _event_subprocess_subscriptions(wf)
    # A task's due date is its earliest interrupting boundary timer (a reminder is not one).
    earliest: dict[bool, dict[str, datetime]] = {True: {}, False: {}}
    for t in waits.timers:
        if t.attached_to:
            seen = earliest[t.interrupting]
            seen[t.attached_to] = min(seen.get(t.attached_to, t.due_at), t.due_at)
    boundary_due = {**earliest[False], **earliest[True]}
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        if is_async(task.task_spec):
            waits.timers.append(Timer(str(task.id), element_id(task), "async", None))
            continue
        waits.tasks.append(OpenTask(
            id=str(task.id), element_id=element_id(task),
            name=task.task_spec.bpmn_name or element_id(task), lane=task.task_spec.lane,
            form_key=form_key(task), due_at=boundary_due.get(element_id(task)),
            assignee=preset_assignee(task)))
    return waits


def _definitions(task) -> list[tuple]:
    """(event definition, element id) pairs a waiting task listens for. An event-based gateway
    waits itself for its targets' events, in the order of its outgoing flows."""
    ed = task.task_spec.event_definition
    if not isinstance(ed, MultipleEventDefinition):
        return [(ed, element_id(task))]
    defs = list(ed.event_definitions)
    outputs = task.task_spec.outputs
    if isinstance(task.task_spec, EventBasedGateway) and len(outputs) == len(defs):
        return [(d, o.bpmn_id or element_id(task)) for d, o in zip(defs, outputs)]
    return [(d, element_id(task)) for d in defs]


def _subscription(wf: BpmnWorkflow, task, ed: MessageEventDefinition, element: str) -> Subscription:
    """Instance-side values: what spiff correlated so far (including processVariableCorrelation
    expressions it evaluates when the event starts waiting), else a variable of that name."""
    known = {}
    for workflow in (wf, task.workflow):
        for key_values in workflow.correlations.values():
            known.update(key_values)
    names = [cp.name for cp in ed.correlation_properties]
    names += [cp.name for cp in getattr(ed, "process_correlations", []) if cp.name not in names]
    props = {}
    for name in names:
        value = known.get(name, task.data.get(name))
        props[name] = value if isinstance(value, (str, int, float)) else None
    ok = all(usable(v) for v in props.values())
    return Subscription(str(task.id), element, ed.name, props,
                        match_key(props) if ok else None)


def _event_subprocess_subscriptions(wf: BpmnWorkflow) -> list[Subscription]:
    """An event subprocess with a message start waits as long as its process runs; spiff
    creates it only when the message arrives, so the subscription is kept on the root task
    (`runner.deliver` opens the subprocess)."""
    starts = [(name, start) for name, start in spiff.event_subprocess_starts(wf)
              if isinstance(start.event_definition, MessageEventDefinition)]
    if not starts:
        return []
    context = wf.last_task or wf.task_tree
    found = []
    for _name, start in starts:
        sub = _subscription(wf, context, start.event_definition,
                            start.bpmn_id or start.name)
        sub.task_id = str(wf.task_tree.id)
        found.append(sub)
    return found


def _kind(ed) -> str:
    if isinstance(ed, CycleTimerEventDefinition):
        return "cycle"
    if isinstance(ed, TimeDateEventDefinition):
        return "date"
    return "duration"


def _timer_due(task, ed) -> datetime | None:
    value = spiff.event_value(task)
    if isinstance(value, dict):
        if value.get("cycles") == 0:
            return None       # a finished cycle: spiff keeps it waiting, but it fires no more
        value = value.get("next")
    if not value:
        return None
    try:
        due = TimerEventDefinition.get_datetime(value)
    except (TypeError, ValueError):
        return None
    return due.astimezone(timezone.utc)


def _attached_to(task) -> str | None:
    attached = getattr(task.task_spec, "attached_to", None) or None
    if attached is None and task.parent is not None:
        # spiff puts a task and its boundary events under one split: the sibling is the task
        for sibling in task.parent.children:
            if sibling is not task and sibling.task_spec.manual:
                return element_id(sibling)
    return attached.bpmn_id if attached is not None and hasattr(attached, "bpmn_id") else attached
