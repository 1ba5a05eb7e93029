"""Deploy refuses diagrams that would tie up the engine: call activities in a cycle, literal
multi-instance counts above the limit, timers firing more often than the minimum, and code
nested deep enough to overflow the compiler (a 422 naming the element, never a 500)."""
from __future__ import annotations

import io

import pytest

from .diagrams import chain, process, script_process

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"])


def errors_of(response) -> list[dict]:
    assert response.status_code == 422, response.get_json()
    return [e for problems in response.get_json()["errors"].values() for e in problems]


def call(key: str, called: str, element: str = "call") -> bytes:
    return process(key, chain(f'<bpmn:callActivity id="{element}" calledElement="{called}"/>'))


# -- call cycles -------------------------------------------------------------------------------
def test_a_process_calling_itself_is_refused(api):
    (problem,) = errors_of(api.deploy(files={"self.bpmn": call("loop", "loop")}))
    assert problem["element_id"] == "call" and "循环" in problem["message"]
    assert "loop → loop" in problem["message"]


def test_processes_calling_each_other_in_one_upload_are_refused(api):
    files = {"a.bpmn": call("a", "b"), "b.bpmn": call("b", "c"), "c.bpmn": call("c", "a")}
    problems = errors_of(api.deploy(files=files))
    assert {p["element_id"] for p in problems} == {"call"}
    assert any("a → b → c → a" in p["message"] for p in problems)


def test_a_cycle_through_the_deployed_library_is_refused(api):
    plain = process("a", chain('<bpmn:task id="work"/>'))
    assert api.deploy(files={"a.bpmn": plain, "b.bpmn": call("b", "a")}).status_code == 201
    # a new version of a calling b, which already calls a (b is compiled again with it)
    problems = errors_of(api.deploy(files={"a.bpmn": call("a", "b")}))
    assert any("a → b → a" in p["message"] for p in problems)
    assert api.get("/api/v1/definitions/a").get_json()["version"] == 1


def test_calls_without_a_cycle_deploy(api):
    child = process("child", chain('<bpmn:task id="work"/>'))
    r = api.deploy(files={"child.bpmn": child, "p.bpmn": call("parent", "child"),
                          "q.bpmn": call("other", "child")})
    assert r.status_code == 201, r.get_json()


# -- multi-instance ----------------------------------------------------------------------------
def multi(inner: str, before: str = "") -> bytes:
    task = (f'<bpmn:task id="each" name="每项"><bpmn:multiInstanceLoopCharacteristics>{inner}'
            '</bpmn:multiInstanceLoopCharacteristics></bpmn:task>')
    return process("multi", chain(*([before] if before else []), task))


SET_ITEMS = '<bpmn:scriptTask id="prepare"><bpmn:script>{}</bpmn:script></bpmn:scriptTask>'


@pytest.mark.parametrize("inner, before", [
    ("<bpmn:loopCardinality>20000</bpmn:loopCardinality>", ""),
    ("<bpmn:loopCardinality>200 * 100</bpmn:loopCardinality>", ""),
    ("<bpmn:loopCardinality>10 ** 6</bpmn:loopCardinality>", ""),
    ("<bpmn:loopCardinality>len(range(5000))</bpmn:loopCardinality>", ""),
    ("<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>",
     SET_ITEMS.format("items = list(range(20000))")),
    ("<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>",
     SET_ITEMS.format("items = [0] * 5000")),
])
def test_literal_multi_instance_counts_above_the_limit_are_refused(api, inner, before):
    problems = errors_of(api.deploy(files={"multi.bpmn": multi(inner, before)}))
    assert problems[0]["element_id"] == "each" and "超过上限 1000" in problems[0]["message"]


@pytest.mark.parametrize("inner, before", [
    ("<bpmn:loopCardinality>1000</bpmn:loopCardinality>", ""),
    ("<bpmn:loopCardinality>count</bpmn:loopCardinality>", ""),     # data: checked when run
    ("<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>",
     SET_ITEMS.format("items = [1, 2, 3]")),
])
def test_counts_within_the_limit_or_from_data_deploy(api, inner, before):
    r = api.deploy(files={"multi.bpmn": multi(inner, before)})
    assert r.status_code == 201, r.get_json()


def test_the_limit_comes_from_the_settings(app, api):
    from engine.compiler import CompileError, SourceFile, compile_files
    from engine.lint_limits import Limits

    diagram = multi("<bpmn:loopCardinality>60</bpmn:loopCardinality>")
    with pytest.raises(CompileError) as caught:
        compile_files([SourceFile("multi.bpmn", diagram)], [],
                      Limits(max_multi_instance=50))
    assert "超过上限 50" in caught.value.problems[0].message
    engine = app.extensions["jianguan.engine"]
    engine.settings.max_multi_instance = 50
    assert "超过上限 50" in errors_of(api.deploy(files={"multi.bpmn": diagram}))[0]["message"]


# -- timers ------------------------------------------------------------------------------------
def timer(kind: str, value: str) -> bytes:
    event = (f'<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
             f'<bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>'
             '</bpmn:intermediateCatchEvent>')
    return process("timed", chain(event))


@pytest.mark.parametrize("kind, value", [
    ("timeCycle", '"R1000000/PT0S"'), ("timeCycle", '"R/PT30S"'),
    ("timeCycle", '"R5/2026-01-01T00:00:00Z/PT1S"'), ("timeDuration", '"PT0S"'),
    ("timeDuration", '"PT59S"'),
])
def test_timers_shorter_than_the_minimum_are_refused(api, kind, value):
    (problem,) = errors_of(api.deploy(files={"timed.bpmn": timer(kind, value)}))
    assert problem["element_id"] == "wait" and "下限" in problem["message"]


@pytest.mark.parametrize("value", ['"R/P99999999Y"', '"P99999999Y"', '"R3/P200000M"'])
def test_timers_of_absurd_length_are_refused_at_once(api, value):
    kind = "timeCycle" if value.startswith('"R') else "timeDuration"
    (problem,) = errors_of(api.deploy(files={"timed.bpmn": timer(kind, value)}))
    assert problem["element_id"] == "wait" and "100 年" in problem["message"]


@pytest.mark.parametrize("kind, value", [("timeCycle", '"R3/PT1M"'), ("timeDuration", '"PT1M"'),
                                         ("timeCycle", '"R/P7D"'), ("timeDuration", "delay")])
def test_timers_of_a_minute_or_more_deploy(api, kind, value):
    r = api.deploy(files={"timed.bpmn": timer(kind, value)})
    assert r.status_code == 201, r.get_json()


# -- nesting that overflows a recursive compiler ------------------------------------------------
NESTED = {
    "400 lambdas": "f = " + "lambda: " * 400 + "1",
    "500 lambdas": "f = " + "lambda: " * 500 + "1",
    "400 additions": "x = 1" + " + 1" * 400,
    "500 negations": "x = " + "-" * 500 + "1",
    "600 calls": "x = f" + "()" * 600,
    "1000 attributes": "x = a" + ".b" * 1000,
    "400 conditional expressions": "x = " + "a if b else " * 400 + "c",
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_deeply_nested_code_is_a_422_naming_the_element(api, name):
    diagram = script_process(NESTED[name], "nested")
    for path in ("/api/v1/definitions", "/api/v1/definitions/validate"):
        r = api.post(path, as_user="designer", data={"files": [(io.BytesIO(diagram), "n.bpmn")]},
                     content_type="multipart/form-data")
        body = r.get_json()
        if path.endswith("validate"):
            assert r.status_code == 200 and body["ok"] is False, body
            problems = body["errors"]["n.bpmn"]
        else:
            problems = errors_of(r)
        assert problems[0]["element_id"] == "script", body
        assert "嵌套过深" in problems[0]["message"] or "无法编译" in problems[0]["message"]


def test_deeply_nested_conditions_are_a_422_too(api):
    condition = "x == 1" + " + 1" * 450
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="g" default="f2"/>'
            '<bpmn:endEvent id="end1"/><bpmn:endEvent id="end2"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="g"/>'
            f'<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="end1"><bpmn:conditionExpression>'
            f'{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="end2"/>')
    (problem,) = errors_of(api.deploy(files={"g.bpmn": process("gate", body)}))
    assert problem["element_id"] == "f1"
