"""The blob's task dicts are reused between steps (engine/serializer.py): what is written must
still be exactly what converting the workflow afresh gives, at every step, including when a
task's data changes under tasks that did not change themselves."""
from __future__ import annotations

import json
import os
import zlib

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.task import TaskState

from engine import serializer

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "processes")


def workflow(file: str, process: str, *others: str) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    for name in (file, *others):
        parser.add_bpmn_file(os.path.join(HERE, name))
    return BpmnWorkflow(parser.get_spec(process), parser.get_subprocess_specs(process))


def fresh(wf: BpmnWorkflow) -> dict:
    """The workflow converted by a new serializer: no dict kept from an earlier step."""
    return json.loads(json.dumps(serializer._new_serializer().to_dict(wf), default=str))


def written(wf: BpmnWorkflow) -> dict:
    return json.loads(json.dumps(serializer._get("specless", serializer._new_serializer)
                                 .to_dict(wf), default=str))


def ready(wf: BpmnWorkflow) -> list:
    return wf.get_tasks(state=TaskState.READY, manual=True)


def answer(element: str, step: int) -> dict:
    """Data a person would enter: the loop of two_lanes is taken twice, then left."""
    return {"choose": {"score": 5, "picks": ["x", "y"]}, "reply": {"accepted": step >= 3},
            "draft": {"project_code": "FS-CC-2026-001"}, "each": {"answer": "同意"},
            }.get(element, {f"n{step}": step})


@pytest.mark.parametrize("file,process,others", [
    ("two_lanes.bpmn", "two_lanes", ()),
    ("gateways.bpmn", "gateways", ()),
    ("subprocesses.bpmn", "parent", ("child.bpmn",)),
])
def test_every_step_writes_what_a_fresh_conversion_gives(file, process, others):
    wf = workflow(file, process, *others)
    wf.get_tasks(state=TaskState.READY)[0].set_data(experts=["甲", "乙"])
    wf.do_engine_steps()
    steps = 0
    while ready(wf) and steps < 30:
        assert written(wf) == fresh(wf)
        task = ready(wf)[0]
        task.set_data(**answer(task.task_spec.bpmn_id, steps))
        task.run()
        wf.do_engine_steps()
        steps += 1
        assert written(wf) == fresh(wf)
    assert steps >= 2 and wf.completed


def test_a_ready_tasks_new_data_shows_in_its_predicted_children():
    wf = workflow("two_lanes.bpmn", "two_lanes")
    wf.do_engine_steps()
    task = ready(wf)[0]
    predicted = [t for t in wf.get_tasks(state=TaskState.PREDICTED_MASK | TaskState.FUTURE)
                 if t.parent is task]
    assert predicted, "the test needs a ready task with predicted children"
    before = written(wf)
    task.set_data(new_name="新值")          # in place: the children's own state is unchanged
    after = written(wf)
    assert after == fresh(wf)
    child = str(predicted[0].id)
    assert "new_name" in after["tasks"][child]["delta"]["deletions"]
    assert "new_name" not in before["tasks"][child]["delta"]["deletions"]


def test_a_rewritten_dict_does_not_change_the_next_blob():
    """engine/spiff.py rewrites workflow_to_dict's result when it migrates an instance."""
    wf = workflow("two_lanes.bpmn", "two_lanes")
    wf.do_engine_steps()
    ready(wf)[0].run()
    wf.do_engine_steps()
    dct = serializer.workflow_to_dict(wf)
    for row in dct["tasks"].values():
        row["children"].clear()
        row["task_spec"] = "elsewhere"
    blob = json.loads(zlib.decompress(serializer.dump_workflow(wf)))
    assert all(row["task_spec"] != "elsewhere" for row in blob["tasks"].values())
    assert blob["tasks"] == fresh(wf)["tasks"]
