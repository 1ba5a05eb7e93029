"""engine/spiff.py's re-pointing of a workflow onto another version (SpiffWorkflow's private
task tree, rewritten in its serializer's dict form), checked on the raw library: an upgrade
of SpiffWorkflow that changes what it relies on fails here."""
from __future__ import annotations

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.task import TaskState

from engine import migration, spiff
from engine.serializer import dump_workflow, load_workflow
from tests.engine.migration_diagrams import V1, no_cancel, renamed_reply


def specs(xml: bytes | str):
    parser = SpiffBpmnParser()
    from lxml import etree
    parser.add_bpmn_xml(etree.fromstring(xml.encode() if isinstance(xml, str) else xml),
                        filename="two_lanes.bpmn")
    return parser.get_spec("two_lanes"), parser.get_subprocess_specs("two_lanes")


def at_reply(source):
    wf = BpmnWorkflow(*source)
    wf.do_engine_steps()
    draft = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    draft.set_data(site="3号楼")
    draft.run()
    wf.do_engine_steps()
    return wf


def move(wf, target, mapping=None):
    merged = migration.check_mapping(wf.spec, target[0], mapping or {})
    found = migration.assess(wf, target[0], merged)
    assert found.movable, found.refusal
    new = spiff.repoint(wf, target, migration.resolver(target[0], merged), found.reenter)
    new.do_engine_steps()
    return load_workflow(dump_workflow(new), target), found      # survives a save and load


def waiting(wf) -> dict[str, str]:
    return {t.task_spec.name: TaskState.get_name(t.state)
            for t in wf.get_tasks(state=TaskState.READY | TaskState.WAITING)}


def test_a_renamed_task_stays_in_place_with_its_id_data_and_boundary_event():
    v1, v2 = specs(V1), specs(renamed_reply())
    wf = at_reply(v1)
    reply_id = wf.get_tasks(state=TaskState.READY, manual=True)[0].id
    moved, found = move(wf, v2, {"reply": "reply2"})
    assert found.moves == {"reply": "reply2"} and not found.reenter
    task = moved.get_tasks(state=TaskState.READY, manual=True)[0]
    assert (task.task_spec.name, task.id, task.data["site"]) == ("reply2", reply_id, "3号楼")
    assert waiting(moved) == {"reply2": "READY", "cancel_ev": "WAITING"}
    task.set_data(accepted=True)
    task.run()
    moved.do_engine_steps()
    assert moved.completed


def test_a_step_whose_boundary_events_changed_is_entered_again():
    wf = at_reply(specs(V1))
    moved, found = move(wf, specs(no_cancel()))
    assert found.dropped == ["cancel_ev"] and len(found.reenter) == 1
    assert waiting(moved) == {"reply": "READY"}
    task = moved.get_tasks(state=TaskState.READY, manual=True)[0]
    assert task.data["site"] == "3号楼"
    task.set_data(accepted=False)                # sent back: the loop runs in the new version
    task.run()
    moved.do_engine_steps()
    assert waiting(moved) == {"draft": "READY"}

    back, _ = move(at_reply(specs(no_cancel())), specs(V1))    # and the other way: armed
    assert waiting(back) == {"reply": "READY", "cancel_ev": "WAITING"}


def test_finished_steps_without_a_counterpart_are_spliced_out():
    renamed_draft = V1.replace('"draft"', '"draft2"').replace(">draft<", ">draft2<")
    wf = at_reply(specs(V1))
    moved, _ = move(wf, specs(renamed_draft))
    names = [t.task_spec.name for t in moved.get_tasks(state=TaskState.COMPLETED)]
    assert "draft" not in names and "start" in names
    assert waiting(moved) == {"reply": "READY", "cancel_ev": "WAITING"}


def test_a_waiting_element_without_target_is_refused():
    wf = at_reply(specs(V1))
    target = specs(renamed_reply())
    found = migration.assess(wf, target[0], migration.check_mapping(wf.spec, target[0], {}))
    assert not found.movable and "reply" in found.refusal
