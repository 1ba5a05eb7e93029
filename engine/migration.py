"""Moving running instances from one version of a process to another.

An element mapping (old element id -> new element id, or None) says where each waiting
element goes; elements with the same id in both versions map to each other unless the
mapping says otherwise. `assess` reads one workflow and says what would move and, when a
waiting element has no target, why it cannot; `migrate` does it inside the caller's
transaction: the workflow is re-pointed at the new spec (engine/spiff.py), run to its next
wait state, saved over the version it was loaded at, its row moved to the new definition,
and the move audited (`instance.migrated`). The engine knows nothing of what the process is
about: batches, progress and who may start them are processes/migrations.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import update
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.task import TaskState

from . import runner, spiff
from .errors import Conflict, Invalid
from .instances import load_handle
from .projection import read_waits
from .schema import instances, subscriptions, tasks, timers
from .store import Unit, load_specs
from engine.i18n import _

# a waiting task that holds the instance at an element (READY user tasks, WAITING events
# and joins, STARTED subprocesses); ERROR is refused: the incident is handled first
OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass
class Element:
    id: str
    name: str
    type: str


@dataclass
class Assessment:
    """What would happen to one instance: moves {old element: new element} and, when it
    cannot move, `refusal` in words a designer reads."""

    waiting: list[str] = field(default_factory=list)
    moves: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)      # boundary events not in the target
    refusal: str | None = None
    reenter: dict = field(default_factory=dict)           # task id -> entry spec name

    @property
    def movable(self) -> bool:
        return self.refusal is None


def elements(spec) -> list[Element]:
    """The BPMN elements of a process spec (ids, names, kinds), for mapping and pages."""
    found = [Element(s.bpmn_id, s.bpmn_name or s.bpmn_id, type(s).__name__)
             for s in spec.task_specs.values() if getattr(s, "bpmn_id", None)]
    return sorted(found, key=lambda e: e.id)


def proposed_mapping(old_spec, new_spec) -> dict[str, str]:
    """Every element of the old version whose id exists in the new one maps to it."""
    new_ids = {e.id for e in elements(new_spec)}
    return {e.id: e.id for e in elements(old_spec) if e.id in new_ids}


def check_mapping(old_spec, new_spec, mapping: dict) -> dict[str, str | None]:
    """The proposal with the caller's mapping over it; unknown ids are a 422."""
    old_ids = {e.id for e in elements(old_spec)}
    new_ids = {e.id for e in elements(new_spec)}
    errors = {}
    for source, target in (mapping or {}).items():
        if source not in old_ids:
            errors[source] = [_("旧版本中没有元素 {source}").format(source=source)]
        elif target is not None and target not in new_ids:
            errors[source] = [_("新版本中没有元素 {target}").format(target=target)]
    if errors:
        raise Invalid(_("元素映射无效"), errors)
    merged: dict[str, str | None] = dict(proposed_mapping(old_spec, new_spec))
    merged.update(mapping or {})
    return merged


def resolver(new_spec, mapping: dict):
    """old spec name -> new spec name or None. BPMN elements go by the mapping; the helper
    specs SpiffWorkflow derives from an element (`X.BoundaryEventSplit`, `proc.EndJoin`)
    follow their element, or keep their name when the new spec has it (`Root`, `Start`)."""
    def resolve(name: str) -> str | None:
        if name in mapping:
            return mapping[name]
        if "." in name:
            base, suffix = name.split(".", 1)
            target = mapping.get(base, base)
            if target is not None and f"{target}.{suffix}" in new_spec.task_specs:
                return f"{target}.{suffix}"
        return name if name in new_spec.task_specs and not _is_element(new_spec, name) \
            else None
    return resolve


def _is_element(spec, name: str) -> bool:
    return bool(getattr(spec.task_specs.get(name), "bpmn_id", None))


def assess(wf, new_spec, mapping: dict) -> Assessment:
    """What moving `wf` to `new_spec` with `mapping` (see check_mapping) would do."""
    result = Assessment()
    for sub in wf.subprocesses.values():
        if any(not t.has_state(TaskState.FINISHED_MASK) for t in sub.tasks.values()):
            result.refusal = _("实例正在子流程中, 暂不支持迁移")
            return result
    if wf.get_tasks(state=TaskState.ERROR):
        result.refusal = _("实例有未处理的故障, 请先处理")
        return result
    resolve = resolver(new_spec, mapping)
    open_tasks = [t for t in wf.tasks.values() if t.has_state(OPEN)]
    for task in sorted(open_tasks, key=lambda t: t.task_spec.name):
        name = task.task_spec.name
        element = getattr(task.task_spec, "bpmn_id", None)
        if element:
            result.waiting.append(element)
        if isinstance(task.task_spec, BoundaryEvent):
            if resolve(name) is None:
                result.dropped.append(name)
            continue                   # it follows its activity (below)
        target = resolve(name)
        if target is None:
            what = element or name
            result.refusal = (_("等待中的元素 {what} 在新版本中没有对应元素").format(what=what))
            return result
        if element:
            result.moves[element] = target
        new_target = new_spec.task_specs[target]
        same_kind = type(new_target).__name__ == type(task.task_spec).__name__
        if same_kind and _same_boundaries(task, new_spec, target, resolve):
            continue                   # stays where it is: same task id, timers keep due times
        if not task.has_state(TaskState.READY | TaskState.WAITING) or not element:
            result.refusal = (_("元素 {value} 的类型已改变, 无法迁移").format(value=element or name))
            return result
        result.reenter[task.id] = spiff.entry_spec_name(new_spec, target)
    return result


def _same_boundaries(task, new_spec, target: str, resolve) -> bool:
    old = spiff.boundary_events_of(task.workflow.spec, task.task_spec.name) \
        if spiff.in_boundary_split(task) else []
    mapped = [resolve(b) for b in old]
    return None not in mapped and sorted(mapped) == spiff.boundary_events_of(new_spec, target)


def migrate(engine, unit: Unit, instance_id: str, target, mapping: dict,
            source_definition_id: int | None = None) -> Assessment:
    """Move one instance to the `target` definition row inside the caller's transaction.
    Raises Conflict when it is no longer at the source version or cannot move."""
    handle = load_handle(engine, unit, instance_id)
    if source_definition_id is not None and handle.row.definition_id != source_definition_id:
        raise Conflict(_("实例已不在源版本"))
    if handle.state not in ("running",):
        raise Conflict(_("实例状态为 {state}, 无法迁移").format(state=handle.state))
    specs = load_specs(unit.conn, engine.specs, target.id)
    found = assess(handle.wf, specs[0], mapping)
    if not found.movable:
        raise Conflict(found.refusal or "")
    handle.wf = spiff.repoint(handle.wf, specs, resolver(specs[0], mapping), found.reenter)
    handle.definition = target
    handle.previous = None            # the projection is read back: task rows may change
    handle.settled = None
    runner.attach_scripts(engine, handle, unit)
    runner.advance(engine, unit, handle)
    unit.record("instance.migrated", handle.id, from_version=handle.row.version,
                to_version=target.version, process_key=target.key, moves=found.moves,
                dropped=found.dropped)
    runner.persist(engine, unit, handle)
    unit.conn.execute(update(instances).where(instances.c.id == handle.id)
                      .values(definition_id=target.id, version=target.version))
    _relabel(engine, unit, handle)
    return found


def _relabel(engine, unit: Unit, handle) -> None:
    """A task that stayed in place keeps its id, so the projection kept its row: give the
    row its new element's id, name, lane and form (the inbox shows the new version's step)."""
    if handle.state in ("completed", "cancelled"):
        return
    waits = read_waits(handle.wf)
    for task in waits.tasks:
        unit.conn.execute(update(tasks).where(tasks.c.id == task.id, tasks.c.state == "open")
                          .values(element_id=task.element_id, name=task.name, lane=task.lane,
                                  role=engine.role_of(task.lane), form_key=task.form_key))
    for sub in waits.subscriptions:
        unit.conn.execute(update(subscriptions).where(
            subscriptions.c.instance_id == handle.id, subscriptions.c.task_id == sub.task_id)
            .values(element_id=sub.element_id))
    for timer in waits.timers:
        unit.conn.execute(update(timers).where(
            timers.c.instance_id == handle.id, timers.c.task_id == timer.task_id)
            .values(element_id=timer.element_id))
