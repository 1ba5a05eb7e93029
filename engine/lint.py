"""Deploy-time checks that SpiffWorkflow's parser does not make (see SPIFFWORKFLOW.md): flows
that point nowhere, unreachable steps, unsupported elements, code that cannot run, unknown
message, error and escalation references, gateways that can get stuck, bad DMN cells."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}

SUPPORTED_NODES = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
UNSUPPORTED_NODES = {"complexGateway": "复杂网关", "choreographyTask": "编排任务",
                     "subChoreography": "子编排", "callChoreography": "编排调用"}
CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}
CONDITIONAL_GATEWAYS = {"exclusiveGateway", "inclusiveGateway"}
REFS = (("messageEventDefinition", "messageRef", "message", "消息"),
        ("receiveTask", "messageRef", "message", "消息"),
        ("sendTask", "messageRef", "message", "消息"),
        ("errorEventDefinition", "errorRef", "error", "错误"),
        ("escalationEventDefinition", "escalationRef", "escalation", "升级"),
        ("signalEventDefinition", "signalRef", "signal", "信号"))
ISO_DURATION = re.compile(r"^-?P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                          r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
HIT_POLICIES = {"UNIQUE", "COLLECT"}


@dataclass
class Problem:
    file: str
    line: int | None
    element_id: str | None
    message: str


def local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


class _Lint:
    def __init__(self, root, file_name: str):
        self.root, self.file = root, file_name
        self.problems: list[Problem] = []

    def add(self, el, message: str, element_id: str | None = None) -> None:
        self.problems.append(Problem(self.file, getattr(el, "sourceline", None),
                                     element_id if element_id is not None else el.get("id"),
                                     message))

    def code(self, el, source: str | None, mode: str, what: str, owner=None) -> None:
        from .sandbox import check_source

        if source is None or not source.strip():
            return
        for message in check_source(source.strip() if mode == "eval" else source, mode):
            owner_el = owner if owner is not None else el
            self.add(el, f"{what}有误 ({what.strip()} problem): {message}", owner_el.get("id"))


def lint_bpmn(root, file_name: str) -> list[Problem]:
    lint = _Lint(root, file_name)
    if root.tag != f"{{{BPMN}}}definitions":
        lint.add(root, "根元素必须是 bpmn:definitions (not a BPMN 2.0 document)")
        return lint.problems
    declared = {kind: {el.get("id") for el in root.iter(f"{{{BPMN}}}{kind}")}
                for kind in ("message", "error", "escalation", "signal")}
    for process in root.iter(f"{{{BPMN}}}process"):
        executable = process.get("isExecutable", "true").lower() != "false"
        _container(lint, process, executable, top=True)
    for tag, attr, kind, label in REFS:
        for el in root.iter(f"{{{BPMN}}}{tag}"):
            ref = el.get(attr)
            if ref and ref not in declared[kind]:
                owner = el.getparent() if tag.endswith("Definition") else el
                lint.add(el, f"引用了未定义的{label} '{ref}' ({attr} points nowhere)", owner.get("id"))
    return lint.problems


def _container(lint: _Lint, container, executable: bool, top: bool = False) -> None:
    children = [c for c in container if isinstance(c.tag, str) and c.tag.startswith(f"{{{BPMN}}}")]
    nodes = {c.get("id"): c for c in children if local(c) in SUPPORTED_NODES | set(UNSUPPORTED_NODES)}
    flows = [c for c in children if local(c) == "sequenceFlow"]
    for c in children:
        if local(c) in UNSUPPORTED_NODES:
            lint.add(c, f"引擎不支持的元素 {local(c)} ({UNSUPPORTED_NODES[local(c)]}, unsupported element)")
    starts = [n for n in nodes.values() if local(n) == "startEvent"]
    kind = local(container)
    if executable and not starts and kind != "adHocSubProcess" and nodes:
        what = "流程" if top else "子流程"
        lint.add(container, f"{what}没有开始事件 (no start event)")
    incoming: dict[str, int] = {}
    outgoing: dict[str, list] = {}
    for f in flows:
        src, tgt = f.get("sourceRef"), f.get("targetRef")
        for end, ref in (("sourceRef", src), ("targetRef", tgt)):
            if ref not in nodes:
                lint.add(f, f"顺序流的 {end} 指向不存在的元素 '{ref}' (sequence flow {end} points nowhere)")
        incoming[tgt] = incoming.get(tgt, 0) + 1
        outgoing.setdefault(src, []).append(f)
        if executable:
            cond = f.find(f"{{{BPMN}}}conditionExpression")
            if cond is not None:
                lint.code(f, cond.text, "eval", "条件表达式 ")
    if executable and kind != "adHocSubProcess":
        _reachability(lint, nodes, incoming, container)
        for node_id, node in nodes.items():
            if local(node) in CONDITIONAL_GATEWAYS:
                _gateway(lint, node, outgoing.get(node_id, []))
    for node in nodes.values():
        if executable:
            _node_code(lint, node)
        if local(node) in CONTAINERS:
            _container(lint, node, executable)


def _reachability(lint: _Lint, nodes: dict, incoming: dict, container) -> None:
    if container.get("triggeredByEvent") == "true":
        return
    for node_id, node in nodes.items():
        name = local(node)
        if incoming.get(node_id) or name in ("startEvent", "boundaryEvent"):
            continue
        if node.get("isForCompensation") == "true" or node.get("triggeredByEvent") == "true":
            continue
        if name == "intermediateCatchEvent" and node.find(f"{{{BPMN}}}linkEventDefinition") is not None:
            continue
        lint.add(node, "该元素没有进入的顺序流, 永远不会执行 (unreachable: no incoming flow)")


def _gateway(lint: _Lint, gateway, flows: list) -> None:
    if len(flows) < 2 or gateway.get("default"):
        return
    bare = [f for f in flows if f.find(f"{{{BPMN}}}conditionExpression") is None]
    if bare:
        lint.add(gateway, "网关有无条件的出口但没有默认路径 (outgoing flow without condition and "
                          f"no default: {', '.join(f.get('id') or '?' for f in bare)})")


def _node_code(lint: _Lint, node) -> None:
    name = local(node)
    if name == "scriptTask":
        script = node.find(f"{{{BPMN}}}script")
        lint.code(script if script is not None else node, script.text if script is not None else None,
                  "exec", "脚本 ", owner=node)
    for tag in ("preScript", "postScript"):
        for el in node.iter(f"{{{SPIFF}}}{tag}"):
            lint.code(el, el.text, "exec", f"{tag} ", owner=node)
    for el in node.iter(f"{{{BPMN}}}timerEventDefinition"):
        for child in el:
            if local(child) in ("timeDuration", "timeDate", "timeCycle"):
                _timer(lint, child, node)


def _timer(lint: _Lint, el, node) -> None:
    text = (el.text or "").strip()
    if not text:
        lint.add(el, "定时器表达式为空 (empty timer expression)", node.get("id"))
        return
    before = len(lint.problems)
    lint.code(el, text, "eval", "定时器表达式 ", owner=node)
    if len(lint.problems) > before:
        return
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return    # a variable or a computation: checked when it runs
    if not isinstance(value, str):
        lint.add(el, "定时器表达式必须得到 ISO 8601 文本 (timer must be ISO 8601 text)", node.get("id"))
    elif not _iso_ok(local(el), value):
        lint.add(el, f"定时器值 '{value}' 不是有效的 ISO 8601 (not ISO 8601; e.g. \"P3D\")", node.get("id"))


def _iso_ok(kind: str, value: str) -> bool:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as T

    try:
        if kind == "timeDuration":
            return bool(ISO_DURATION.match(value))
        if kind == "timeDate":
            T.get_datetime(value)
            return True
        T.parse_iso_recurring_interval(value)
        return True
    except Exception:   # spiff raises a mix of ValueError, TypeError, IndexError
        return False


def lint_dmn(root, file_name: str) -> list[Problem]:
    lint = _Lint(root, file_name)
    if local(root) != "definitions" or "dmn" not in (etree.QName(root).namespace or "").lower():
        lint.add(root, "根元素必须是 DMN definitions (not a DMN document)")
        return lint.problems
    ns = etree.QName(root).namespace
    decisions = list(root.iter(f"{{{ns}}}decision"))
    if not decisions:
        lint.add(root, "DMN 文件中没有决策 (no decision)")
    for table in root.iter(f"{{{ns}}}decisionTable"):
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in HIT_POLICIES:
            lint.add(table, f"不支持的命中策略 {policy} (hit policy not supported; use UNIQUE or COLLECT)")
        for expr in table.iter(f"{{{ns}}}inputExpression"):
            text = expr.findtext(f"{{{ns}}}text")
            lint.code(expr, text, "eval", "输入表达式 ")
        for entry in table.iter(f"{{{ns}}}inputEntry"):
            _input_entry(lint, entry, entry.findtext(f"{{{ns}}}text"))
        for entry in table.iter(f"{{{ns}}}outputEntry"):
            lint.code(entry, entry.findtext(f"{{{ns}}}text"), "eval", "输出单元格 ")
    return lint.problems


def _input_entry(lint: _Lint, el, text: str | None) -> None:
    """The forms spiff's DMN engine accepts: '-', a value, a comparison, or '?' expressions."""
    text = (text or "").strip()
    if not text or text == "-":
        return
    if "?" in text:
        candidate = re.sub(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)', "dmninputexpr", text)
    else:
        candidate = None
        for attempt in (f"dmninputexpr == ({text})", f"dmninputexpr {text}"):
            try:
                ast.parse(attempt, mode="eval")
                candidate = attempt
                break
            except SyntaxError:
                continue
        if candidate is None:
            lint.add(el, f"输入单元格无法解析 (input entry does not parse): {text!r}; "
                         "单元格是 Python 表达式, 不是 FEEL")
            return
    lint.code(el, candidate, "eval", "输入单元格 ")
