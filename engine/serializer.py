"""Workflow blobs without their specs.

SpiffWorkflow embeds the whole spec in every serialized instance (about half the blob) and
restores it on every load. Specs are immutable per definition version, so instances store only
their state and specs are restored once per version and cached.
"""
from __future__ import annotations

import copy
import json
import threading
import zlib
from uuid import UUID
from typing import Callable

from cachetools import LRUCache

from SpiffWorkflow.bpmn.serializer.default.workflow import (BpmnWorkflowConverter, TaskConverter,
                                                            WorkflowConverter)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task, TaskState

SpecPair = tuple  # (BpmnProcessSpec, dict[str, BpmnProcessSpec])


class _SpeclessConverter(BpmnWorkflowConverter):
    """Drops specs on the way out; takes them from `registry.spec_source` on the way in."""

    def to_dict(self, workflow):
        # WorkflowConverter's part plus what BpmnWorkflowConverter adds apart from the specs:
        # converting the specs only to drop them was a fifth of every dump.
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        spec, subprocess_specs = self.registry.spec_source
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
_PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


class _TaskDictCache(TaskConverter):
    """A task's dict is kept with its workflow and reused while nothing it is made of
    changed, for the two kinds of task that make up most of a workflow and that every step
    converted again:
    - finished tasks: their data is not changed by SpiffWorkflow or the engine (steps work on
      ready and waiting tasks); their state, links and the data objects they and their
      parents hold are in the key, so a reset, a cancel or a compaction converts them again;
    - predicted tasks holding no data: their dict is their state and links, and the names of
      their parent's data (SpiffWorkflow stores a task's data as a delta of its parent's,
      and an empty task "deletes" every name the parent has)."""

    def to_dict(self, task):
        parent = task.parent
        if task.has_state(_FINISHED):
            key = (task.state, task.last_state_change, task._parent, tuple(task._children),
                   task.triggered, id(task.data), len(task.internal_data),
                   None if parent is None else id(parent.data))
        elif task.has_state(_PREDICTED) and not task.data and not task.internal_data:
            key = (task.state, task.last_state_change, task._parent, tuple(task._children),
                   task.triggered, None if parent is None else tuple(parent.data))
        else:
            return super().to_dict(task)
        cache = task.workflow.__dict__.setdefault(self._slot, {})
        hit = cache.get(task.id)
        if hit is not None and hit[0] == key:
            return hit[1]
        dct = super().to_dict(task)
        cache[task.id] = (key, dct)
        return dct

    @property
    def _slot(self) -> str:
        return f"_jianguan_task_dicts_{id(self)}"


def _new_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessConverter
    config[Task] = _TaskDictCache
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


def _full_serializer() -> BpmnWorkflowSerializer:
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


_local = threading.local()


def _get(name: str, factory: Callable[[], BpmnWorkflowSerializer]) -> BpmnWorkflowSerializer:
    # The serializer flips a shared encoder flag while dumping: one per thread.
    ser = getattr(_local, name, None)
    if ser is None:
        ser = factory()
        setattr(_local, name, ser)
    return ser


# Counted for the benchmarks (bench/api.py prints deserializations per call).
counts = {"dumps": 0, "loads": 0}


def dump_workflow(workflow: BpmnWorkflow) -> bytes:
    counts["dumps"] += 1
    text = _get("specless", _new_serializer).serialize_json(workflow)
    return zlib.compress(text.encode(), 1)


def load_workflow(blob: bytes, specs: SpecPair) -> BpmnWorkflow:
    counts["loads"] += 1
    ser = _get("specless", _new_serializer)
    ser.registry.spec_source = specs
    try:
        return ser.deserialize_json(zlib.decompress(blob).decode())
    finally:
        ser.registry.spec_source = None


def dump_specs(spec, subprocess_specs: dict) -> dict:
    reg = _get("full", _full_serializer).registry
    return {"spec": json.loads(json.dumps(reg.convert(spec))),
            "subprocess_specs": {k: json.loads(json.dumps(reg.convert(v)))
                                 for k, v in subprocess_specs.items()}}


def load_specs(compiled: dict) -> SpecPair:
    reg = _get("full", _full_serializer).registry
    spec = reg.restore(compiled["spec"])
    subs = {k: reg.restore(v) for k, v in compiled["subprocess_specs"].items()}
    return spec, subs


class SpecCache:
    """definition id -> restored specs, bounded LRU shared by all threads."""

    def __init__(self, size: int = 256):
        self._items: LRUCache = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, definition_id: int, loader: Callable[[], dict]) -> SpecPair:
        with self._lock:
            specs = self._items.get(definition_id)
        if specs is not None:
            return specs
        specs = load_specs(loader())
        with self._lock:
            self._items[definition_id] = specs
        return specs


def workflow_to_dict(workflow: BpmnWorkflow) -> dict:
    """The blob's content before JSON: tasks keyed by id, each naming its spec (no specs).
    A copy: the caller may rewrite it, and task dicts are shared with the workflow's cache."""
    return copy.deepcopy(_get("specless", _new_serializer).to_dict(workflow))


def workflow_from_dict(dct: dict, specs: SpecPair) -> BpmnWorkflow:
    """A workflow from `workflow_to_dict`'s shape, its task specs looked up in `specs` (which
    may be another version's: engine/migration.py re-points an instance this way)."""
    ser = _get("specless", _new_serializer)
    ser.registry.spec_source = specs
    try:
        return ser.from_dict(dct)
    finally:
        ser.registry.spec_source = None
