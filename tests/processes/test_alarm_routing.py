"""The alarm-routing decision table (device type and level to action and deadline) is data a
designer edits; the rows are checked here through a business rule task."""
from __future__ import annotations

import pytest

from tests.processes.test_warning_talk import deploy

ROUTER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="route_alarm" name="报警分级" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="route"/>
    <bpmn:businessRuleTask id="route" name="分级"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>alarm_routing</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="route" targetRef="look"/>
    <bpmn:userTask id="look" name="查看"/>
    <bpmn:sequenceFlow id="f3" sourceRef="look" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("device_type, level, action, hours", [
    ("dust", "warning", "notify", 2), ("dust", "alarm", "rectification", 24),
    ("video", "offline", "rectification", 72), ("pit", "danger", "emergency", 1),
    ("crane", "alarm", "rectification", 24)])
def test_routing_rows(api, device_type, level, action, hours):
    deploy(api, dmn=["alarm_routing"])
    assert api.deploy(files={"route_alarm.bpmn": ROUTER.encode()}).status_code == 201
    r = api.start("route_alarm", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001",
                                                    "device_type": device_type, "level": level})
    variables = api.instance(r.get_json()["id"])["variables"]
    assert (variables["action"], variables["deadline_hours"]) == (action, hours)


def test_an_unknown_combination_routes_nowhere(api):
    deploy(api, dmn=["alarm_routing"])
    api.deploy(files={"route_alarm.bpmn": ROUTER.encode()})
    r = api.start("route_alarm", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001",
                                                    "device_type": "video", "level": "warning"})
    assert "action" not in api.instance(r.get_json()["id"])["variables"]
