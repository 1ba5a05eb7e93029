"""The deploy compiler called directly: what a designer sees when a model is good or broken."""
from __future__ import annotations

import glob
import os

import pytest
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from engine.compiler import (CompileError, CompiledBundle, SourceFile, compile_files,
                             declared_ids)

HERE = os.path.dirname(os.path.abspath(__file__))
MIWG = sorted(glob.glob("/work/shared/conformance/miwg/*.bpmn"))
# the reference models refused for execution, each with its reasons: service tasks naming no
# operation, gateway flows with neither condition nor default, empty or unquoted timers,
# conditions that are not Python; every other one compiles
MIWG_REFUSED = {"C.1.0.bpmn", "C.1.1.bpmn", "C.3.0.bpmn", "C.4.0.bpmn", "C.5.0.bpmn",
                "C.6.0.bpmn", "C.7.0.bpmn", "C.8.1.bpmn", "C.9.0.bpmn", "C.9.1.bpmn",
                "C.9.2.bpmn"}
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def bpmn(body: str, extra: str = "", pid: str = "p", executable: str = "true") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<bpmn:definitions {NS} id="defs" targetNamespace="http://t">\n{extra}\n'
            f'<bpmn:process id="{pid}" name="流程 {pid}" isExecutable="{executable}">\n'
            f'{body}\n</bpmn:process>\n</bpmn:definitions>\n').encode()


def linear(*middle: str) -> str:
    """start -> middle elements (each with id n1, n2, ...) -> end."""
    ids = ["start"] + [f"n{i}" for i in range(1, len(middle) + 1)] + ["end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>\n'
                    for i, (a, b) in enumerate(zip(ids, ids[1:])))
    return '<bpmn:startEvent id="start"/>\n' + "\n".join(middle) + '\n<bpmn:endEvent id="end"/>\n' \
        + flows


def problems_of(*files: SourceFile, library: list[SourceFile] | None = None):
    with pytest.raises(CompileError) as info:
        compile_files(list(files), library or [])
    assert info.value.problems
    return info.value.problems


def line_of(content: bytes, needle: str) -> int:
    text = content.decode()
    return text[:text.index(needle)].count("\n") + 1


def test_small_process_compiles_with_lanes_and_start_lane():
    body = """
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="施工单位"><bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>n1</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="l2" name="监理单位"><bpmn:flowNodeRef>n2</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>""" + linear('<bpmn:userTask id="n1" name="填报"/>',
                                '<bpmn:userTask id="n2" name="审核"/>')
    content = bpmn(body)
    bundle = compile_files([SourceFile("a.bpmn", content)], [])
    proc = bundle.processes["p"]
    assert isinstance(bundle, CompiledBundle) and bundle.decisions == {}
    assert isinstance(proc.spec, BpmnProcessSpec) and "n1" in proc.spec.task_specs
    assert (proc.key, proc.name, proc.file, proc.executable) == ("p", "流程 p", "a.bpmn", True)
    assert proc.xml == content.decode()
    assert proc.lanes == ["施工单位", "监理单位"] and proc.start_lane == "施工单位"
    assert proc.spec.task_specs["n2"].lane == "监理单位"


def test_start_lane_falls_back_to_first_reachable_user_task():
    body = """<bpmn:laneSet id="ls"><bpmn:lane id="l2" name="监理单位">
      <bpmn:flowNodeRef>n1</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>""" + linear(
        '<bpmn:userTask id="n1"/>')
    assert compile_files([SourceFile("a.bpmn", bpmn(body))], []).processes["p"].start_lane \
        == "监理单位"


def test_malformed_xml_names_the_line():
    content = bpmn(linear('<bpmn:userTask id="n1">'))     # never closed
    [problem] = problems_of(SourceFile("bad.bpmn", content))
    assert problem.file == "bad.bpmn"
    assert "XML 格式错误" in problem.message and problem.line is not None
    assert problem.line >= line_of(content, 'id="n1"')
    assert f"line {problem.line}" in problem.message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p"><bpmn:documentation>&lol4;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p"><bpmn:documentation>&xxe;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, XXE, XXE.decode().encode("utf-16")],
                         ids=["billion-laughs", "xxe", "xxe-utf16"])
def test_dtd_and_entities_are_refused_without_expansion(content):
    [problem] = problems_of(SourceFile("evil.bpmn", content))
    assert "不允许 DOCTYPE/实体声明" in problem.message and problem.line == 2
    assert "lollol" not in problem.message and "root:" not in problem.message
    assert declared_ids(SourceFile("evil.bpmn", content)) == set()


def test_process_without_start_event():
    content = bpmn('<bpmn:userTask id="t"/><bpmn:endEvent id="e"/>'
                   '<bpmn:sequenceFlow id="f" sourceRef="t" targetRef="e"/>')
    messages = [p.message for p in problems_of(SourceFile("a.bpmn", content))]
    assert any("没有开始事件" in m for m in messages)


def test_subprocess_without_start_event():
    sub = ('<bpmn:subProcess id="n1"><bpmn:task id="inner"/></bpmn:subProcess>')
    problems = problems_of(SourceFile("a.bpmn", bpmn(linear(sub))))
    assert any(p.element_id == "n1" and "子流程没有开始事件" in p.message for p in problems)


@pytest.mark.parametrize("end", ["sourceRef", "targetRef"])
def test_sequence_flow_to_missing_element(end):
    flow = ('<bpmn:sequenceFlow id="dangling" sourceRef="Task_9" targetRef="end"/>'
            if end == "sourceRef" else
            '<bpmn:sequenceFlow id="dangling" sourceRef="start" targetRef="Task_9"/>')
    content = bpmn('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>'
                   '<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/>\n' + flow)
    problems = problems_of(SourceFile("a.bpmn", content))
    hit = [p for p in problems if p.element_id == "dangling"]
    assert hit and f"{end} 指向不存在的元素 'Task_9'" in hit[0].message
    assert hit[0].line == line_of(content, 'id="dangling"')


def test_element_without_incoming_flow_is_unreachable():
    content = bpmn(linear('<bpmn:task id="n1"/>') + '<bpmn:task id="orphan"/>'
                   '<bpmn:sequenceFlow id="fo" sourceRef="orphan" targetRef="end"/>')
    problems = problems_of(SourceFile("a.bpmn", content))
    assert [p.element_id for p in problems] == ["orphan"]
    assert "永远不会执行" in problems[0].message


def test_task_with_two_outgoing_flows_needs_a_gateway():
    content = bpmn(linear('<bpmn:task id="n1"/>')
                   + '<bpmn:sequenceFlow id="extra" sourceRef="n1" targetRef="end"/>')
    [problem] = problems_of(SourceFile("a.bpmn", content))
    assert problem.element_id == "n1" and "请加一个网关" in problem.message


def test_condition_on_a_task_flow_would_be_ignored():
    content = bpmn(linear('<bpmn:task id="n1"/>').replace(
        '<bpmn:sequenceFlow id="f1" sourceRef="n1" targetRef="end"/>',
        '<bpmn:sequenceFlow id="f1" sourceRef="n1" targetRef="end">'
        '<bpmn:conditionExpression>ok</bpmn:conditionExpression></bpmn:sequenceFlow>'))
    [problem] = problems_of(SourceFile("a.bpmn", content))
    assert problem.element_id == "f1" and "会被忽略" in problem.message


def test_unsupported_element():
    gateway = ('<bpmn:complexGateway id="n1"/>')
    problems = problems_of(SourceFile("a.bpmn", bpmn(linear(gateway))))
    assert any(p.element_id == "n1" and "引擎不支持的元素 complexGateway" in p.message
               for p in problems)


def test_script_syntax_error_names_the_script_task_line():
    task = '<bpmn:scriptTask id="n1"><bpmn:script>a = 1\nb = (</bpmn:script></bpmn:scriptTask>'
    content = bpmn(linear(task))
    [problem] = problems_of(SourceFile("a.bpmn", content))
    assert problem.element_id == "n1" and problem.line == line_of(content, '<bpmn:scriptTask')
    assert "脚本有误" in problem.message and "line 2" in problem.message


def test_script_import_is_refused():
    task = '<bpmn:scriptTask id="n1"><bpmn:script>import os</bpmn:script></bpmn:scriptTask>'
    [problem] = problems_of(SourceFile("a.bpmn", bpmn(linear(task))))
    assert problem.element_id == "n1" and "导入" in problem.message


def test_pre_script_is_checked():
    task = ('<bpmn:userTask id="n1"><bpmn:extensionElements>'
            '<spiffworkflow:preScript>x = __import__("os")</spiffworkflow:preScript>'
            '</bpmn:extensionElements></bpmn:userTask>')
    [problem] = problems_of(SourceFile("a.bpmn", bpmn(linear(task))))
    assert problem.element_id == "n1" and "preScript" in problem.message


def gateway_body(cond_a: str | None, cond_b: str | None, default: str | None = None) -> str:
    def flow(fid, target, cond):
        expr = f"<bpmn:conditionExpression>{cond}</bpmn:conditionExpression>" if cond else ""
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="gw" targetRef="{target}">{expr}' \
               '</bpmn:sequenceFlow>'
    dflt = f' default="{default}"' if default else ""
    return (f'<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw"{dflt}/>'
            '<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw"/>'
            + flow("fa", "a", cond_a) + flow("fb", "b", cond_b))


def test_gateway_with_conditions_and_default_compiles():
    bundle = compile_files([SourceFile("g.bpmn", bpmn(gateway_body("x &gt; 1", None, "fb")))], [])
    assert "gw" in bundle.processes["p"].spec.task_specs


def test_bad_condition():
    problems = problems_of(SourceFile("g.bpmn", bpmn(gateway_body("x ==", None, "fb"))))
    assert [p.element_id for p in problems] == ["fa"]
    assert "条件表达式有误" in problems[0].message


def test_juel_condition_gets_a_hint():
    problems = problems_of(SourceFile("g.bpmn", bpmn(gateway_body("${ok}", None, "fb"))))
    assert "不是 JUEL/FEEL" in problems[0].message


def test_exclusive_gateway_without_default_and_an_unconditioned_flow():
    problems = problems_of(SourceFile("g.bpmn", bpmn(gateway_body("x &gt; 1", None))))
    assert [p.element_id for p in problems] == ["gw"]
    assert "fb" in problems[0].message and "默认路径" in problems[0].message


def timer_body(expression: str, kind: str = "timeDuration") -> str:
    return linear(f'<bpmn:intermediateCatchEvent id="n1"><bpmn:timerEventDefinition>'
                  f'<bpmn:{kind}>{expression}</bpmn:{kind}></bpmn:timerEventDefinition>'
                  '</bpmn:intermediateCatchEvent>')


@pytest.mark.parametrize("expression,kind", [('"P3D"', "timeDuration"), ("deadline", "timeDate"),
                                             ('"R3/PT1H"', "timeCycle"),
                                             ('"2025-01-31T09:00:00+08:00"', "timeDate")])
def test_good_timers_compile(expression, kind):
    assert compile_files([SourceFile("t.bpmn", bpmn(timer_body(expression, kind)))], []).processes


@pytest.mark.parametrize("expression,expected", [('"P3X"', "不是有效的 ISO 8601"),
                                                 ("P3D", "需要加引号"),
                                                 ("R3/PT1H", "需要加引号"),
                                                 ('"P3D', "定时器表达式有误"),
                                                 ("3", "必须得到 ISO 8601 文本")])
def test_bad_timer(expression, expected):
    [problem] = problems_of(SourceFile("t.bpmn", bpmn(timer_body(expression))))
    assert problem.element_id == "n1" and expected in problem.message


def test_unknown_message_ref_is_a_problem_not_a_type_error():
    event = ('<bpmn:intermediateCatchEvent id="n1">'
             '<bpmn:messageEventDefinition messageRef="nowhere"/></bpmn:intermediateCatchEvent>')
    [problem] = problems_of(SourceFile("m.bpmn", bpmn(linear(event))))
    assert problem.element_id == "n1" and "未定义的消息 'nowhere'" in problem.message


@pytest.mark.parametrize("ref", ["", 'x"]'])
def test_odd_escalation_ref_is_a_problem(ref):
    event = ('<bpmn:intermediateThrowEvent id="n1">'
             f'<bpmn:escalationEventDefinition escalationRef=\'{ref}\'/>'
             '</bpmn:intermediateThrowEvent>')
    [problem] = problems_of(SourceFile("m.bpmn", bpmn(linear(event))))
    assert problem.element_id == "n1" and "未定义的升级" in problem.message


def test_correlation_property_without_retrieval_expression():
    extra = ('<bpmn:message id="m1" name="回复"/>'
             '<bpmn:correlationProperty id="cp" name="site"/>')
    event = ('<bpmn:intermediateCatchEvent id="n1">'
             '<bpmn:messageEventDefinition messageRef="m1"/></bpmn:intermediateCatchEvent>')
    [problem] = problems_of(SourceFile("m.bpmn", bpmn(linear(event), extra)))
    assert problem.element_id == "cp" and "取值表达式" in problem.message


def test_message_start_event_is_listed():
    extra = '<bpmn:message id="m1" name="报警"/>'
    body = ('<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m1"/>'
            '</bpmn:startEvent><bpmn:endEvent id="end"/>'
            '<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/>')
    bundle = compile_files([SourceFile("m.bpmn", bpmn(body, extra))], [])
    assert bundle.processes["p"].start_messages == ["报警"]


CHILD = bpmn(linear('<bpmn:userTask id="n1"/>'), pid="child")
PARENT = bpmn(linear('<bpmn:callActivity id="n1" calledElement="child"/>'), pid="parent")


def test_call_activity_resolved_from_the_library():
    bundle = compile_files([SourceFile("parent.bpmn", PARENT)], [SourceFile("child.bpmn", CHILD)])
    assert list(bundle.processes) == ["parent"]          # the library is not redeployed
    parent = bundle.processes["parent"]
    assert parent.called_processes == {"child"} and "child" in parent.subprocess_specs


def test_call_activity_without_the_called_process():
    [problem] = problems_of(SourceFile("parent.bpmn", PARENT))
    assert problem.element_id == "n1" and "'child' 不存在" in problem.message


def test_uploaded_process_replaces_the_library_version():
    old = bpmn(linear('<bpmn:userTask id="old_task"/>'), pid="child")
    bundle = compile_files([SourceFile("parent.bpmn", PARENT), SourceFile("child_v2.bpmn", CHILD)],
                           [SourceFile("child.bpmn", old)])
    assert "n1" in bundle.processes["parent"].subprocess_specs["child"].task_specs
    assert set(bundle.processes) == {"parent", "child"}


def test_library_file_keeps_the_processes_not_redeclared():
    both = (CHILD.decode().replace("</bpmn:definitions>", "")
            + '<bpmn:process id="other" isExecutable="true">' + linear('<bpmn:task id="n1"/>')
            + "</bpmn:process></bpmn:definitions>").encode()
    caller = bpmn(linear('<bpmn:callActivity id="n1" calledElement="other"/>'), pid="caller")
    bundle = compile_files([SourceFile("caller.bpmn", caller), SourceFile("child2.bpmn", CHILD)],
                           [SourceFile("both.bpmn", both)])
    assert set(bundle.processes) == {"caller", "child"}
    assert "other" in bundle.processes["caller"].subprocess_specs


def test_same_process_in_two_uploaded_files():
    problems = problems_of(SourceFile("a.bpmn", CHILD), SourceFile("b.bpmn", CHILD))
    assert problems[0].file == "b.bpmn" and "a.bpmn" in problems[0].message


def dmn(cell: str = '"一般"', output: str = "1") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{DMN_NS}" id="defs" name="记分" namespace="http://t">
  <decision id="points" name="记分">
    <decisionTable id="t1">
      <input id="i1"><inputExpression id="ie1"><text>severity</text></inputExpression></input>
      <output id="o1" name="points"/>
      <rule id="r1"><inputEntry id="e1"><text>{cell}</text></inputEntry>
        <outputEntry id="oe1"><text>{output}</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>""".encode()


RULE_TASK = bpmn(linear('<bpmn:businessRuleTask id="n1"><bpmn:extensionElements>'
                        '<spiffworkflow:calledDecisionId>points</spiffworkflow:calledDecisionId>'
                        '</bpmn:extensionElements></bpmn:businessRuleTask>'), pid="rules")


@pytest.mark.parametrize("cell", ['"一般"', "&gt;= 4", "3 &lt;= ? &lt;= 5", '? in ("a", "b")', "-"])
def test_dmn_compiles_with_a_process_that_uses_it(cell):
    table = SourceFile("points.dmn", dmn(cell))
    bundle = compile_files([table, SourceFile("rules.bpmn", RULE_TASK)], [])
    assert bundle.decisions == {"points": table}
    assert bundle.processes["rules"].decisions == {"points"}


def test_decision_resolved_from_the_library():
    bundle = compile_files([SourceFile("rules.bpmn", RULE_TASK)],
                           [SourceFile("points.dmn", dmn())])
    assert bundle.decisions == {} and bundle.processes["rules"].decisions == {"points"}


def test_missing_decision():
    [problem] = problems_of(SourceFile("rules.bpmn", RULE_TASK))
    assert problem.element_id == "n1" and "决策 'points' 不存在" in problem.message


@pytest.mark.parametrize("cell,output,expected", [
    ('"a" "b" (', "1", "输入单元格"),
    ("1", "__import__('os')", "输出单元格有误"),
])
def test_bad_dmn_cell(cell, output, expected):
    content = dmn(cell, output)
    problems = problems_of(SourceFile("points.dmn", content))
    assert all(p.file == "points.dmn" for p in problems)
    assert any(expected in p.message and p.line is not None for p in problems)


def test_non_executable_process_is_kept_for_viewing():
    content = bpmn('<bpmn:task id="t"/><bpmn:complexGateway id="g"/>', executable="false")
    proc = compile_files([SourceFile("doc.bpmn", content)], []).processes["p"]
    assert proc.executable is False and proc.xml == content.decode()


def test_declared_ids():
    assert declared_ids(SourceFile("a.bpmn", PARENT)) == {"parent"}
    assert declared_ids(SourceFile("points.dmn", dmn())) == {"points"}
    assert declared_ids(SourceFile("x.bpmn", b"<not xml")) == set()


def test_engine_test_models_compile_together():
    files = [SourceFile(os.path.basename(p), open(p, "rb").read())
             for p in sorted(glob.glob(os.path.join(HERE, "processes", "*.*")))
             if p.endswith((".bpmn", ".dmn"))]
    bundle = compile_files(files, [])
    declared = set().union(*(declared_ids(f) for f in files))
    assert set(bundle.processes) | set(bundle.decisions) == declared
    assert all(p.executable for p in bundle.processes.values())


@pytest.mark.parametrize("path", MIWG, ids=[os.path.basename(p) for p in MIWG])
def test_miwg_reference_models_compile_or_are_refused_clearly(path):
    name = os.path.basename(path)
    source = SourceFile(name, open(path, "rb").read())
    if name in MIWG_REFUSED:             # the expected outcome, not the one observed
        with pytest.raises(CompileError) as refused:
            compile_files([source], [])
        assert refused.value.problems
        for problem in refused.value.problems:
            assert problem.file == name and problem.message.strip()
        return
    result = compile_files([source], [])
    assert isinstance(result, CompiledBundle) and result.processes
    for proc in result.processes.values():
        assert proc.file == name and proc.spec is not None


def test_all_miwg_models_are_present():
    assert len(MIWG) == 21
