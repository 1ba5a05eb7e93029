"""Diagrams written the way SpiffWorkflow's own modeler writes them deploy and run: a DMN input
column read from the variable its label names, message correlation by
spiffworkflow:processVariableCorrelation without bpmn:correlationProperty elements."""
from __future__ import annotations

import pytest

from .diagrams import chain, process, started

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="记分" namespace="t">
  <decision id="points_by_label" name="按标签记分">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="in1" label="severity"/>
      <input id="in2" label="repeated"><inputExpression id="ie2" typeRef="boolean"/></input>
      <output id="out1" label="分值" name="points" typeRef="integer"/>
      <rule id="r1"><inputEntry id="a1"><text>"严重"</text></inputEntry><inputEntry id="b1"><text>True</text></inputEntry><outputEntry id="c1"><text>9</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="a2"><text>"严重"</text></inputEntry><inputEntry id="b2"><text>-</text></inputEntry><outputEntry id="c2"><text>6</text></outputEntry></rule>
      <rule id="r3"><inputEntry id="a3"><text>"一般"</text></inputEntry><inputEntry id="b3"><text></text></inputEntry><outputEntry id="c3"><text>1</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""

RULE = ('<bpmn:businessRuleTask id="rule" name="记分"><bpmn:extensionElements>'
        '<spiffworkflow:calledDecisionId>points_by_label</spiffworkflow:calledDecisionId>'
        '</bpmn:extensionElements></bpmn:businessRuleTask>')


def test_dmn_input_without_expression_reads_the_variable_named_by_its_label(api):
    r = api.deploy(files={"points.dmn": DMN.encode(), "score.bpmn": process("score", chain(RULE))})
    assert r.status_code == 201, r.get_json()
    for severity, repeated, points in (("严重", True, 9), ("严重", False, 6), ("一般", False, 1)):
        inst = started(api, "score", {"severity": severity, "repeated": repeated})
        assert inst["state"] == "running", inst["incidents"]
        assert inst["variables"]["points"] == points
    inst = started(api, "score", {"repeated": False})          # the label's variable is missing
    assert inst["state"] == "error" and "severity" in inst["incidents"][0]["message"]


def test_dmn_input_without_expression_or_usable_label_is_refused(api):
    dmn = DMN.replace('label="severity"/>', 'label="严重 程度"/>')
    r = api.deploy(files={"points.dmn": dmn.encode()})
    assert r.status_code == 422
    (problem,) = r.get_json()["errors"]["points.dmn"]
    assert problem["element_id"] == "in1" and "输入表达式" in problem["message"]


def correlated(collaboration: bool, on_receive_task: bool = False) -> bytes:
    pvc = ('<bpmn:extensionElements><spiffworkflow:processVariableCorrelation>'
           '<spiffworkflow:propertyId>order_no</spiffworkflow:propertyId>'
           '<spiffworkflow:expression>order["no"]</spiffworkflow:expression>'
           '</spiffworkflow:processVariableCorrelation></bpmn:extensionElements>')
    if on_receive_task:
        wait = f'<bpmn:receiveTask id="wait" name="等付款" messageRef="m_paid">{pvc}</bpmn:receiveTask>'
    else:
        wait = ('<bpmn:intermediateCatchEvent id="wait" name="等付款">'
                f'<bpmn:messageEventDefinition messageRef="m_paid">{pvc}'
                '</bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>')
    before = ('<bpmn:message id="m_paid" name="paid"><bpmn:extensionElements>'
              '<spiffworkflow:messageVariable>payment</spiffworkflow:messageVariable>'
              '</bpmn:extensionElements></bpmn:message>\n')
    if collaboration:      # what spiff's modeler writes: a key naming the property, nothing else
        before = ('<bpmn:collaboration id="c"><bpmn:participant id="p" processRef="order"/>'
                  '<bpmn:correlationKey id="key" name="MainCorrelationKey">'
                  '<bpmn:correlationPropertyRef>order_no</bpmn:correlationPropertyRef>'
                  '</bpmn:correlationKey></bpmn:collaboration>\n') + before
    return process("order", chain(wait), before)


@pytest.mark.parametrize("collaboration, on_receive_task", [(True, False), (False, False),
                                                            (True, True)])
def test_process_variable_correlation_without_declared_properties(api, collaboration,
                                                                   on_receive_task):
    r = api.deploy(files={"order.bpmn": correlated(collaboration, on_receive_task)})
    assert r.status_code == 201, r.get_json()
    first = started(api, "order", {"order": {"no": "A-1"}})["id"]
    second = started(api, "order", {"order": {"no": "A-2"}})["id"]
    waiting = api.instance(second)["waiting"]
    assert [w["correlation"] for w in waiting] == [{"order_no": "A-2"}]
    r = api.message("paid", {"order_no": "A-2"}, {"amount": 120})
    assert r.status_code == 200 and r.get_json()["correlated"] == [second], r.get_json()
    done, other = api.instance(second), api.instance(first)
    assert done["variables"]["payment"] == {"amount": 120}
    assert [t["element_id"] for t in done["tasks"]] == ["after"]
    assert other["waiting"] and other["tasks"] == []


def test_a_correlation_key_naming_nothing_is_still_refused(api):
    diagram = correlated(True).replace(
        b"<bpmn:correlationPropertyRef>order_no<", b"<bpmn:correlationPropertyRef>nowhere<")
    r = api.deploy(files={"order.bpmn": diagram})
    assert r.status_code == 422 and "nowhere" in str(r.get_json()["errors"])
