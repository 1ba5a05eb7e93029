"""Bounded runs: a command that moves an instance stops after a step budget or a time budget
(EngineSettings) and leaves an incident named in Chinese, committing so that other writers go
on; a cycle timer whose interval, from a variable, is below the minimum is an incident too."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.clock import clock
from engine.schema import definitions
from engine.serializer import dump_specs
from engine.timers import fire_due
from tests.bpmn import line, process_xml

P1 = "FS-CC-2026-001"

# A call activity that calls its own process: deploy's lint refuses it, so it is stored here
# directly, as an older version or a database edit could have left it.
RECURSIVE = process_xml("recur", line(
    '<bpmn:callActivity id="again" calledElement="recur"/>', start="s", end="e")).encode()

# A multi-instance whose count comes from a variable at run time.
MANY = process_xml("many", line("""<bpmn:scriptTask id="work">
  <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>n</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
  <bpmn:script>x = 1</bpmn:script>
</bpmn:scriptTask>""", start="s", end="e")).encode()

CYCLE = process_xml("ticker", """<bpmn:startEvent id="s"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
<bpmn:userTask id="wait"/>
<bpmn:boundaryEvent id="tick" attachedToRef="wait" cancelActivity="false">
  <bpmn:timerEventDefinition><bpmn:timeCycle>every</bpmn:timeCycle></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f2" sourceRef="tick" targetRef="ticked"/>
<bpmn:endEvent id="ticked"/>
<bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="e"/>
<bpmn:endEvent id="e"/>""").encode()


def store_unlinted(engine, key: str, xml: bytes) -> None:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml)
    compiled = dump_specs(parser.get_spec(key), parser.get_subprocess_specs(key))
    with engine.unit("system:test") as unit:
        unit.conn.execute(insert(definitions).values(
            kind="bpmn", key=key, version=1, name=key, file_name=f"{key}.bpmn", sha256="0" * 64,
            source=xml.decode(), compiled=compiled, meta={}, deployed_at=unit.now,
            deployed_by="system:test"))


def test_a_call_activity_calling_itself_stops_at_the_step_budget(api, engine):
    engine.settings.max_steps = 300
    store_unlinted(engine, "recur", RECURSIVE)
    r = api.start("recur", P1)
    assert r.status_code == 201, r.get_json()
    inst = r.get_json()
    assert inst["state"] == "error"
    assert "流程步数超出上限 (300 步)" in inst["incidents"][0]["message"]
    # the write lock was released: the next write goes through at once
    assert api.deploy(files={"many.bpmn": MANY}).status_code in (200, 201)


def test_a_multi_instance_of_20000_stops_at_the_time_budget(api, engine):
    engine.settings.max_step_seconds = 0.5
    assert api.deploy(files={"many.bpmn": MANY}).status_code in (200, 201)
    r = api.start("many", P1, {"n": 20_000})
    assert r.status_code == 201, r.get_json()
    inst = r.get_json()
    assert inst["state"] == "error"
    assert "流程运行时间超出上限" in inst["incidents"][0]["message"]
    assert api.start("many", P1, {"n": 3}).get_json()["state"] == "completed"


def test_a_cycle_timer_shorter_than_the_minimum_is_an_incident(api, engine):
    assert api.deploy(files={"ticker.bpmn": CYCLE}).status_code in (200, 201)
    inst = api.start("ticker", P1, {"every": "R1000000/PT0S"}).get_json()
    assert inst["state"] == "error"
    assert "间隔为 0 秒, 短于下限 60 秒" in inst["incidents"][0]["message"]
    clock.advance(timedelta(minutes=5))
    assert fire_due(engine) == 0                    # no pass fires it
    assert api.instance(inst["id"])["state"] == "error"
    fine = api.start("ticker", P1, {"every": "R3/PT2M"}).get_json()
    assert fine["state"] == "running"
    assert [w["element_id"] for w in fine["waiting"]] == ["tick"]
