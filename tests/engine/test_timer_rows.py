"""The timers table keeps what did not change: a failing async job beside a cycle timer keeps
its attempts and back-off when the cycle fires, so it still becomes an incident."""
from __future__ import annotations

from datetime import timedelta

from engine.clock import clock
from engine.services import ServiceFailure
from engine.timers import fire_due
from tests.bpmn import process_xml, service_task

P1 = "FS-CC-2026-001"
BPMN = process_xml("job_and_cycle", """<bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
<bpmn:parallelGateway id="split"/>
<bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="watch"/>
<bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="issue"/>
<bpmn:userTask id="watch"/>
<bpmn:boundaryEvent id="tick" attachedToRef="watch" cancelActivity="false">
  <bpmn:timerEventDefinition><bpmn:timeCycle>"R100/PT2M"</bpmn:timeCycle></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f4" sourceRef="tick" targetRef="ticked"/>
<bpmn:endEvent id="ticked"/>
<bpmn:sequenceFlow id="f5" sourceRef="watch" targetRef="end_watch"/>
<bpmn:endEvent id="end_watch"/>
""" + service_task("issue", "test.flaky", "issued", run_async=True) + """
<bpmn:sequenceFlow id="f6" sourceRef="issue" targetRef="end_issue"/>
<bpmn:endEvent id="end_issue"/>""", name="job beside a cycle").encode()


def failing(ctx):
    raise ServiceFailure("服务不可用 (down)")


def job(api, iid):
    return [w for w in api.instance(iid)["waiting"] if w["type"] == "job"][0]


def test_a_cycle_firing_keeps_the_failing_jobs_attempts_and_back_off(api, engine):
    engine.services.register("test.flaky", failing)
    engine.settings.job_attempts = 3
    engine.settings.job_backoff_seconds = 300       # longer than the cycle's period
    assert api.deploy(files={"job_and_cycle.bpmn": BPMN}).status_code in (200, 201)
    iid = api.start("job_and_cycle", P1, {"project_code": P1}).get_json()["id"]
    fire_due(engine)                                # attempt 1 fails: back off one hour
    first = job(api, iid)
    assert first["attempts"] == 1
    clock.advance(timedelta(seconds=150))            # the cycle is due, the job is not
    assert fire_due(engine) == 1
    after = job(api, iid)
    assert after["attempts"] == 1 and after["due_at"] == first["due_at"]
    # and so, firing on, the job reaches its last attempt and becomes an incident
    for _ in range(20):
        clock.advance(timedelta(seconds=150))
        fire_due(engine)
        if api.instance(iid)["state"] == "error":
            break
    inst = api.instance(iid)
    assert inst["state"] == "error"
    assert "down" in inst["incidents"][0]["message"]
