"""Every use of SpiffWorkflow's private interface, in one place.

SpiffWorkflow 3.2 offers no public way to fire one waiting event with a payload we already
matched, to arm a non-interrupting boundary event again, to read or set a timer's computed
value, to point its timer module at our clock, or to cut a finished part of a task tree. The
engine needs each of these; they live here, each with its test in
tests/engine/test_spiff_adapter.py, so that an upgrade of SpiffWorkflow breaks this file
(loudly, in those tests) and nothing else.
"""
from __future__ import annotations

from typing import Any, Callable
from uuid import UUID

import SpiffWorkflow
from SpiffWorkflow.task import TaskState

SUPPORTED_VERSION = "3.2.0"


def check_version() -> None:
    """The adapter was written against one version; another must pass its tests first."""
    version = getattr(SpiffWorkflow, "__version__", None)
    if version is None:
        from SpiffWorkflow.version import __version__ as version
    if version != SUPPORTED_VERSION:
        raise RuntimeError(f"engine/spiff.py is written for SpiffWorkflow {SUPPORTED_VERSION}, "
                           f"found {version}: run tests/engine/test_spiff_adapter.py and adapt")


# -- task internals ----------------------------------------------------------------------
def event_value(task) -> Any:
    """What a timer event computed when it started waiting: an ISO text, or for a cycle a
    dict {cycles, next, duration}."""
    return task._get_internal_data("event_value")


def set_event_value(task, value: Any) -> None:
    task._set_internal_data(event_value=value)


def update(task) -> None:
    """Let the task's spec re-evaluate the task (a fired event becomes READY)."""
    task.task_spec._update(task)


def fire_event(task) -> None:
    """Mark a waiting catch event as fired (its payload already set) and let it move on."""
    task._set_internal_data(event_fired=True)
    update(task)


def arm_again(task):
    """A fresh copy of a boundary event beside one that fired (BPMN lets a non-interrupting
    boundary event fire again while its activity runs; spiff arms it once)."""
    again = task.parent._add_child(task.task_spec, TaskState.FUTURE)
    update(again)
    return again


def tasks_in_state(wf, state: int) -> list:
    """Tasks of the workflow and its subprocesses in `state`, in no particular order (a walk
    of the dicts that hold them: cheaper than SpiffWorkflow's tree iterator)."""
    found = [t for t in wf.tasks.values() if t.state & state]
    for sub in wf.subprocesses.values():
        found.extend(t for t in sub.tasks.values() if t.state & state)
    return found


# -- the timer module's clock -------------------------------------------------------------
def install_timer_clock(datetime_class: type) -> None:
    """SpiffWorkflow's timer definitions call `datetime.now(timezone.utc)` on their module's
    `datetime` name: point it at a class whose `now` asks our clock."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    if not hasattr(timer, "datetime"):
        raise RuntimeError("SpiffWorkflow's timer module no longer has a `datetime` to replace")
    timer.datetime = datetime_class


def timer_clock():
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    return timer.datetime


# -- cutting finished history out of a task tree ------------------------------------------
def compact(wf, keep: int = 8, min_cut: int = 40) -> int:
    """Cut finished history out of the top-level task tree; returns how many tasks went.

    Every task that has not finished hangs below one lowest common ancestor; the chain of
    finished tasks from the root's child down to it (a loop's past rounds) is history: the
    audit trail keeps it, the instance does not need it to go on. All but the last `keep`
    links of that chain go, with the finished branches hanging off them and the finished
    subprocesses they started; the root then links straight to what is left. Nothing is cut
    unless at least `min_cut` links would go, or when anything to cut has not finished."""
    live = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return 0
    spine = _ancestors(live[0])                  # root .. live[0]
    index = {t.id: i for i, t in enumerate(spine)}
    end = len(spine) - 1
    for task in live[1:]:
        node = task
        while node.id not in index:
            node = node.parent
        end = min(end, index[node.id])
    spine = spine[:end + 1]                      # root .. lowest common ancestor
    cut = spine[1:len(spine) - keep]
    if len(cut) < min_cut:
        return 0
    root, first, keep_child = spine[0], cut[0], spine[len(spine) - keep]
    removed, kept_below = [], set()
    for task in keep_child:                      # the subtree that stays (iterates it all)
        kept_below.add(task.id)
    for task in first:
        if task.id in kept_below:
            continue
        if not task.has_state(TaskState.FINISHED_MASK):
            return 0
        removed.append(task)
    gone = {t.id for t in removed}
    if wf.last_task is not None and wf.last_task.id in gone:
        wf.last_task = keep_child
    _drop_subprocesses(wf, gone)
    for task_id in gone:
        wf.tasks.pop(task_id, None)
        wf.event_manager.tasks.pop(task_id, None)
    keep_child._parent = root.id
    root._children = [keep_child.id if c == first.id else c for c in root._children]
    return len(gone)


def _ancestors(task) -> list:
    chain = []
    while task is not None:
        chain.append(task)
        task = task.parent
    return chain[::-1]


def _drop_subprocesses(wf, gone: set) -> None:
    """Subprocesses started by removed tasks (and those they started) go with them."""
    changed = True
    while changed:
        changed = False
        for parent_id in [k for k in wf.subprocesses if k in gone]:
            sub = wf.subprocesses.pop(parent_id)
            gone.update(sub.tasks)
            changed = True


def child_ids(task) -> list[UUID]:
    return list(task._children)


# -- stepping with a budget ---------------------------------------------------------------
def run_engine_steps(wf, after_each: Callable[[Any], None]) -> None:
    """`do_engine_steps`, calling `after_each(task)` after every task it runs (it may raise to
    stop the run: the tasks run so far stay run)."""
    wf.do_engine_steps(did_complete_task=after_each)


def waiting_event_tasks(wf) -> list:
    """Catch events waiting anywhere in the workflow (its subprocesses included)."""
    return [t for t in wf.event_manager.tasks.values() if t.has_state(TaskState.WAITING)]


def cycle_seconds(task) -> float | None:
    """The interval of a waiting cycle timer, as evaluated when it started waiting."""
    value = event_value(task)
    if isinstance(value, dict) and "duration" in value:
        return float(value["duration"])
    return None


def trigger_specs(wf) -> list[str]:
    """Names of the event subprocess specs a process starts when one of their start events
    catches (spiff creates such a subprocess only when the event arrives)."""
    return list(getattr(wf.spec.start, "trigger_specs", []) or [])


def event_subprocess_starts(wf) -> list[tuple[str, object]]:
    """(event subprocess spec name, start event spec) of the top-level process."""
    found = []
    for name in trigger_specs(wf):
        spec = wf.subprocess_specs.get(name)
        for start in (spec.bpmn_start_events if spec is not None else []):
            found.append((name, start))
    return found


def open_event_subprocess(wf, spec_name: str, start_name: str):
    """The waiting start event of an event subprocess, created as SpiffWorkflow does when an
    event it catches arrives (EventManager.update_collaboration), or an existing one that
    still waits."""
    for sub in wf.subprocesses.values():
        task = sub.get_next_task(state=TaskState.WAITING, spec_name=start_name)
        if task is not None:
            return task
    child_id = wf.spec.start.trigger_wf(wf.task_tree, spec_name)
    return wf.subprocesses[child_id].get_next_task(state=TaskState.WAITING, spec_name=start_name)


# -- moving a running instance to another version of its process --------------------------
SPLIT = ".BoundaryEventSplit"


def boundary_events_of(spec, element: str) -> list[str]:
    """Names of the boundary events attached to `element` in a process spec (SpiffWorkflow
    hangs an activity and its boundary events below a split task named after it)."""
    split = spec.task_specs.get(element + SPLIT)
    if split is None:
        return []
    return sorted(o.name for o in split.outputs if o.name != element)


def entry_spec_name(spec, element: str) -> str:
    """The spec a token enters to reach `element`: its boundary split when it has one."""
    return element + SPLIT if element + SPLIT in spec.task_specs else element


def in_boundary_split(task) -> bool:
    return task.parent is not None and task.parent.task_spec.name.endswith(SPLIT)


def repoint(wf, specs, resolve: Callable[[str], str | None], reenter: dict) -> Any:
    """The workflow `wf` moved onto `specs` (another version's (spec, subprocess specs)).

    `resolve(old spec name)` names the new spec for a task, or None. `reenter` maps the ids
    of waiting tasks to the new element they re-enter: each is cut out of the tree with its
    boundary split (the boundary events go with it) and entered afresh below the same parent,
    so its new element's boundary events are armed as a token arriving would arm them.
    Predicted (and FUTURE) tasks are dropped and predicted again from the new spec; finished tasks with no
    counterpart are spliced out of the tree (the audit trail keeps what they did); any other
    unfinished task must resolve. The tree is rewritten in the serializer's dict form, so the
    restored workflow is consistent (event manager, spec references) by construction."""
    from .serializer import workflow_from_dict, workflow_to_dict

    dct = workflow_to_dict(wf)
    rows = dct["tasks"]

    def subtree(tid: str) -> list[str]:
        out, stack = [], [tid]
        while stack:
            cur = stack.pop()
            out.append(cur)
            stack.extend(rows[cur]["children"])
        return out

    remove: set[str] = set()
    anchors: list[tuple[str, str, dict]] = []
    for task_id, entry in reenter.items():
        task = rows[str(task_id)]
        top = str(task_id)
        parent = rows.get(task["parent"])
        if parent is not None and parent["task_spec"].endswith(SPLIT):
            top = task["parent"]
        anchors.append((rows[top]["parent"], entry, task["data"]))
        remove.update(subtree(top))
    predicted = TaskState.PREDICTED_MASK | TaskState.FUTURE
    for tid, row in rows.items():
        if row["state"] & predicted:
            remove.update(subtree(tid))
    for tid in remove:
        parent = rows.get(rows[tid]["parent"])
        if parent is not None and parent["children"] and tid in parent["children"]:
            parent["children"] = [c for c in parent["children"] if c != tid]
    for tid in remove:
        rows.pop(tid, None)

    moved_to: dict[str, str] = {}            # spliced task -> the parent that took its place
    for tid in list(rows):
        row = rows[tid]
        target = resolve(row["task_spec"])
        if target is not None:
            row["task_spec"] = target
            continue
        if not row["state"] & TaskState.FINISHED_MASK or row["parent"] is None:
            raise ValueError(f"task {row['task_spec']} has no counterpart in the new version")
        parent = rows[row["parent"]]
        index = parent["children"].index(tid)
        parent["children"][index:index + 1] = row["children"]
        for child in row["children"]:
            rows[child]["parent"] = row["parent"]
        moved_to[tid] = row["parent"]
        del rows[tid]

    def alive(tid: str | None) -> str | None:
        while tid is not None and tid in moved_to:
            tid = moved_to[tid]
        return tid

    if dct.get("last_task") is not None and dct["last_task"] not in rows:
        dct["last_task"] = alive(dct["last_task"]) if dct["last_task"] in moved_to else None
    new = workflow_from_dict(dct, specs)
    for anchor, entry, data in anchors:
        parent = new.tasks[UUID(alive(anchor))]
        task = parent._add_child(new.spec.task_specs[entry], TaskState.FUTURE)
        task.data = dict(data)
        update(task)
    new._predict()                  # what SpiffWorkflow does after building a workflow
    return new
