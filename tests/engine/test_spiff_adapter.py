"""engine/spiff.py: each use of SpiffWorkflow's private interface, checked against the
installed library on plain workflows. An upgrade that changes one of them fails here."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.task import TaskState

from engine import spiff
from engine.clock import _ClockDatetime, clock, install_spiff_clock

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "processes")


def workflow(file_name: str, process: str, *more: str, **data) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    for name in (file_name, *more):
        parser.add_bpmn_file(os.path.join(HERE, name))
    wf = BpmnWorkflow(parser.get_spec(process), parser.get_subprocess_specs(process))
    wf.get_tasks(state=TaskState.READY)[0].set_data(**data)
    wf.do_engine_steps()
    return wf


def waiting(wf, element: str):
    return next(t for t in wf.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == element)


def ready(wf, element: str):
    return next(t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.bpmn_id == element)


def test_check_version_accepts_the_installed_library():
    spiff.check_version()


def test_event_value_is_a_timers_computed_due_time():
    wf = workflow("timers.bpmn", "timers", deadline="P2D")
    value = spiff.event_value(waiting(wf, "overdue"))          # "P3D" in the diagram
    due = datetime.fromisoformat(value)
    assert timedelta(days=3, seconds=-5) < due - datetime.now(timezone.utc) <= timedelta(days=3)


def test_set_event_value_moves_a_timer_into_the_past_so_it_fires():
    wf = workflow("timers.bpmn", "timers", deadline="P2D")
    task = waiting(wf, "overdue")
    spiff.set_event_value(task, (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat())
    wf.refresh_timers()
    wf.do_engine_steps()
    assert any(t.task_spec.bpmn_id == "escalate" for t in wf.get_tasks(state=TaskState.READY))


def test_fire_event_and_update_let_a_waiting_message_event_go_on():
    wf = workflow("messages.bpmn", "notice", project_code="P", reminder_count=0)
    task = waiting(wf, "withdrawn")                 # interrupting boundary event on `reply`
    spiff.fire_event(task)
    wf.do_engine_steps()
    assert task.has_state(TaskState.COMPLETED)
    assert wf.completed                             # reply cancelled, end_withdrawn reached


def test_arm_again_adds_a_waiting_copy_of_a_non_interrupting_boundary_event():
    wf = workflow("messages.bpmn", "notice", project_code="P", reminder_count=0)
    first = waiting(wf, "reminded")
    spiff.fire_event(first)
    again = spiff.arm_again(first)
    assert again.parent is first.parent and again.task_spec is first.task_spec
    assert again.has_state(TaskState.WAITING)


def test_install_timer_clock_makes_spiff_timers_ask_our_clock():
    install_spiff_clock()
    assert spiff.timer_clock() is _ClockDatetime
    clock.advance(timedelta(days=10))
    try:
        wf = workflow("timers.bpmn", "timers", deadline="P2D")
        due = datetime.fromisoformat(spiff.event_value(waiting(wf, "overdue")))
        assert due - datetime.now(timezone.utc) > timedelta(days=12)   # P3D after +10 days
    finally:
        clock.reset()


def test_run_engine_steps_calls_back_after_each_task_and_stops_on_its_exception():
    wf = workflow("two_lanes.bpmn", "two_lanes", project_code="P")
    ready(wf, "draft").run()
    seen = []
    spiff.run_engine_steps(wf, lambda task: seen.append(task.task_spec.name))
    assert seen                                      # the boundary split, the events...

    class Stop(Exception):
        pass

    wf = workflow("two_lanes.bpmn", "two_lanes", project_code="P")
    ready(wf, "draft").run()

    def stop(task):
        raise Stop()
    with pytest.raises(Stop):
        spiff.run_engine_steps(wf, stop)


def test_waiting_event_tasks_and_cycle_seconds_read_a_cycle_timer():
    wf = workflow("cycle.bpmn", "cycle")
    tasks = spiff.waiting_event_tasks(wf)
    assert [t.task_spec.bpmn_id for t in tasks] == ["tick"]
    assert spiff.cycle_seconds(tasks[0]) == 30 * 86400
    assert spiff.cycle_seconds(ready(wf, "wait")) is None


def test_trigger_specs_names_event_subprocesses():
    wf = workflow("errors_escalations.bpmn", "errors_escalations") \
        if _has_event_subprocess("errors_escalations.bpmn") else None
    if wf is not None:
        assert spiff.trigger_specs(wf)
    plain = workflow("two_lanes.bpmn", "two_lanes", project_code="P")
    assert spiff.trigger_specs(plain) == []


def _has_event_subprocess(name: str) -> bool:
    with open(os.path.join(HERE, name)) as fh:
        return 'triggeredByEvent="true"' in fh.read()


def test_compact_cuts_a_loops_finished_rounds_and_the_workflow_runs_on():
    wf = workflow("two_lanes.bpmn", "two_lanes", project_code="P")
    for _ in range(30):
        for element, data in [("draft", {}), ("reply", {"accepted": False})]:
            task = ready(wf, element)
            task.set_data(**data)
            task.run()
            wf.do_engine_steps()
    before = len(wf.tasks)
    current = ready(wf, "draft")
    removed = spiff.compact(wf, keep=4, min_cut=10)
    assert removed > 100 and len(wf.tasks) == before - removed
    assert current.id in wf.tasks and wf.last_task.id in wf.tasks
    assert all(t.parent is None or t.parent.id in wf.tasks for t in wf.tasks.values())
    assert spiff.child_ids(wf.task_tree)[0] in wf.tasks
    for element, data in [("draft", {}), ("reply", {"accepted": True})]:
        task = ready(wf, element)
        task.set_data(**data)
        task.run()
        wf.do_engine_steps()
    assert wf.completed and wf.last_task.data["accepted"] is True


def test_compact_leaves_a_short_history_alone():
    wf = workflow("two_lanes.bpmn", "two_lanes", project_code="P")
    assert spiff.compact(wf, keep=4, min_cut=10) == 0


def test_tasks_in_state_finds_the_same_tasks_as_the_tree_walk():
    wf = workflow("subprocesses.bpmn", "parent", "child.bpmn")   # subprocess tasks too
    assert wf.subprocesses
    for state in (TaskState.COMPLETED, TaskState.READY, TaskState.WAITING):
        assert {t.id for t in spiff.tasks_in_state(wf, state)} == \
            {t.id for t in wf.get_tasks(state=state)}
