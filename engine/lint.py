"""Deploy-time checks that SpiffWorkflow's parser does not make (see SPIFFWORKFLOW.md): flows
that point nowhere, unreachable steps, elements the engine cannot run, code that cannot run,
unknown message, error, escalation and signal references, gateways that can get stuck, bad DMN
cells. Executable processes get every check; non-executable ones (documentation) only what the
parser itself needs to read the file."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from .lint_limits import (Limits, check_timer_period, literal_collections,
                          multi_instance_count, too_long_duration)
from engine.i18n import _

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DC = "http://www.omg.org/spec/DD/20100524/DC"

# Every BPMN 2.0 flow node; which of them the engine runs comes from spiff's parser tables.
FLOW_NODES = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "implicitThrowEvent", "task", "userTask", "manualTask", "scriptTask", "serviceTask",
    "sendTask", "receiveTask", "businessRuleTask", "callActivity", "subProcess", "transaction",
    "adHocSubProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "complexGateway", "choreographyTask", "subChoreography",
    "callChoreography"}
NAMES = {"complexGateway": "复杂网关", "choreographyTask": "编排任务", "subChoreography": "子编排",
         "callChoreography": "编排调用", "implicitThrowEvent": "隐式抛出事件",
         "linkEventDefinition": "链接事件", "compensateEventDefinition": "补偿事件",
         "dataStoreReference": "数据存储"}
UNSUPPORTED_PARTS = ("linkEventDefinition", "compensateEventDefinition", "dataStoreReference")
CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
CONDITIONAL_GATEWAYS = {"exclusiveGateway", "inclusiveGateway"}
MULTIPLE_OUT = GATEWAYS | {"startEvent"}     # spiff's handles_multiple_outgoing
REFS = (("messageEventDefinition", "messageRef", "message", "消息"),
        ("receiveTask", "messageRef", "message", "消息"),
        ("sendTask", "messageRef", "message", "消息"),
        ("errorEventDefinition", "errorRef", "error", "错误"),
        ("escalationEventDefinition", "escalationRef", "escalation", "升级"),
        ("signalEventDefinition", "signalRef", "signal", "信号"))
ISO_DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                          r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
# Spiff's DMN engine returns the first match for these (right for UNIQUE/FIRST/ANY tables) and
# a list of every match for COLLECT; other policies would silently give wrong answers.
HIT_POLICIES = {"UNIQUE", "FIRST", "ANY", "COLLECT"}


@dataclass
class Problem:
    file: str
    line: int | None
    element_id: str | None
    message: str


def local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def is_executable(process) -> bool:
    """As spiff reads it: only a missing attribute or exactly "true"."""
    return process.get("isExecutable", "true") == "true"


def _bpmn(el, name: str) -> list:
    return list(el.iter(f"{{{BPMN}}}{name}"))


@lru_cache(maxsize=1)
def supported_nodes() -> frozenset[str]:
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser as P

    tags = set(P.PARSER_CLASSES) | set(P.OVERRIDE_PARSER_CLASSES)
    return frozenset(etree.QName(t).localname for t in tags if t.startswith(f"{{{BPMN}}}"))


class _Lint:
    def __init__(self, root, file_name: str, limits: Limits | None = None):
        self.root, self.file = root, file_name
        self.limits = limits or Limits()
        self.problems: list[Problem] = []
        self.collections: dict[str, int] = {}   # literal collections the process's scripts set

    def add(self, el, message: str, element_id: str | None = None) -> None:
        self.problems.append(Problem(self.file, getattr(el, "sourceline", None),
                                     element_id if element_id is not None else el.get("id"),
                                     message))

    def code(self, el, source: str | None, mode: str, what: str, owner=None) -> bool:
        """Adds a problem per reason `source` cannot run; True when it is fine."""
        from .sandbox import check_source

        if source is None or not source.strip():
            return True
        owner = owner if owner is not None else el
        text = source.strip() if mode == "eval" else source
        messages = check_source(text, mode)
        for message in messages:
            hint = ""
            if text.lstrip().startswith(("${", "#{")):
                hint = _("; 表达式是 Python, 不是 JUEL/FEEL")
            self.add(owner, f"{what}: {message}{hint}", owner.get("id"))
        return not messages


# -- BPMN -------------------------------------------------------------------------------------
def lint_bpmn(root, file_name: str, limits: Limits | None = None) -> list[Problem]:
    lint = _Lint(root, file_name, limits)
    if root.tag != f"{{{BPMN}}}definitions":
        lint.add(root, _("根元素必须是 bpmn:definitions"))
        return lint.problems
    _ids(lint, root)
    _correlations(lint, root)
    _diagram(lint, root)
    declared = {kind: {el.get("id") for el in _bpmn(root, kind)}
                for kind in ("message", "error", "escalation", "signal")}
    for process in _bpmn(root, "process"):
        if process.get("isExecutable", "true") not in ("true", "false"):
            lint.add(process, _("isExecutable 只能是 true 或 false"))
        executable = is_executable(process)
        lint.collections = literal_collections(_scripts(process))
        _container(lint, process, executable, top=True)
        if executable:
            _references(lint, process, declared)
    return sorted(lint.problems, key=lambda p: p.line or 0)


def _scripts(process) -> list[str]:
    tags = (f"{{{BPMN}}}script", f"{{{SPIFF}}}preScript", f"{{{SPIFF}}}postScript")
    return [el.text for el in process.iter(*tags) if el.text]


def _ids(lint: _Lint, root) -> None:
    """Spiff refuses root elements without id and mixes up elements sharing one."""
    seen: dict[str, object] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN}}}"):
            continue
        name, el_id = local(el), el.get("id")
        needs_id = name in FLOW_NODES or name in (
            "process", "sequenceFlow", "message", "signal", "error", "escalation",
            "correlationProperty")
        if needs_id and not el_id:
            lint.add(el, _("元素 {name} 缺少 id").format(name=name), "")
        elif el_id and el_id in seen:
            lint.add(el, _("id '{el_id}' 重复, 第一次出现在第 {sourceline} 行").format(
                             el_id=el_id, sourceline=seen[el_id].sourceline))
        elif el_id:
            seen[el_id] = el


def _correlations(lint: _Lint, root) -> None:
    messages = {m.get("id") for m in _bpmn(root, "message")}
    properties = {p.get("id") for p in _bpmn(root, "correlationProperty")}
    for pvc in root.iter(f"{{{SPIFF}}}processVariableCorrelation"):
        # spiff's own form: the property is named here, no bpmn:correlationProperty needed
        prop_id = (pvc.findtext(f"{{{SPIFF}}}propertyId") or "").strip()
        owner = next((a for a in pvc.iterancestors() if a.get("id")), pvc)
        if not prop_id:
            lint.add(owner, _("processVariableCorrelation 缺少 propertyId"))
        properties.add(prop_id)
        lint.code(owner, pvc.findtext(f"{{{SPIFF}}}expression"), "eval",
                  _("关联变量表达式有误"))
    for prop in _bpmn(root, "correlationProperty"):
        expressions = _bpmn(prop, "correlationPropertyRetrievalExpression")
        if not expressions:
            lint.add(prop, _("关联属性缺少取值表达式"))
        for cpre in expressions:
            ref = cpre.get("messageRef")
            if ref not in messages:
                lint.add(cpre, _("关联属性引用了未定义的消息 '{ref}'").format(ref=ref),
                         prop.get("id"))
            for expr in cpre:
                if isinstance(expr.tag, str):
                    lint.code(expr, expr.text, "eval", _("关联取值表达式有误"),
                              owner=prop)
    for key in _bpmn(root, "correlationKey"):
        for ref in _bpmn(key, "correlationPropertyRef"):
            if (ref.text or "").strip() not in properties:
                lint.add(ref, _("关联键引用了未定义的关联属性 '{value}'").format(value=(ref.text or '').strip()), key.get("id") or "")


def _diagram(lint: _Lint, root) -> None:
    """Spiff reads shape positions of the whole file to order parallel branches."""
    for bounds in root.iter(f"{{{DC}}}Bounds"):
        try:
            float(bounds.get("x", 0)), float(bounds.get("y", 0))
        except ValueError:
            shape = bounds.getparent()
            lint.add(bounds, _("图形坐标必须是数字"),
                     shape.get("bpmnElement") or shape.get("id") or "")


def _references(lint: _Lint, process, declared: dict) -> None:
    for tag, attr, kind, label in REFS:
        for el in _bpmn(process, tag):
            ref = el.get(attr)
            if ref is not None and ref not in declared[kind]:    # spiff: '' is a reference too
                owner = el.getparent() if tag.endswith("Definition") else el
                lint.add(owner, _("引用了未定义的{label} '{ref}': {attr}").format(
                                    label=label, ref=ref, attr=attr),
                         owner.get("id"))


def _container(lint: _Lint, container, executable: bool, top: bool = False) -> None:
    children = [c for c in container if isinstance(c.tag, str) and c.tag.startswith(f"{{{BPMN}}}")]
    nodes = {c.get("id"): c for c in children if local(c) in FLOW_NODES}
    flows = [c for c in children if local(c) == "sequenceFlow"]
    kind = local(container)
    ad_hoc = kind == "adHocSubProcess"
    incoming: dict[str, int] = {}
    outgoing: dict[str, list] = {}
    for f in flows:
        src, tgt = f.get("sourceRef"), f.get("targetRef")
        for end, ref in (("sourceRef", src), ("targetRef", tgt)):
            if ref not in nodes:
                lint.add(f, _("顺序流的 {end} 指向不存在的元素 '{ref}'").format(end=end, ref=ref))
        incoming[tgt] = incoming.get(tgt, 0) + 1
        outgoing.setdefault(src, []).append(f)
    if executable:
        supported = supported_nodes()
        for node in nodes.values():
            if local(node) not in supported:
                lint.add(node, _("引擎不支持的元素 {local_node}: {value}").format(
                                   local_node=local(node),
                                   value=NAMES.get(local(node), local(node))))
            for part in UNSUPPORTED_PARTS[:2]:
                for el in node.findall(f"{{{BPMN}}}{part}"):
                    lint.add(el, _("引擎不支持的元素 {part}: {value}").format(part=part, value=NAMES[part]),
                             node.get("id"))
        for el in children:
            if local(el) == "dataStoreReference":
                lint.add(el, "引擎不支持的元素 dataStoreReference (数据存储, unsupported element)")
        if not ad_hoc and not any(local(n) == "startEvent" for n in nodes.values()):
            what = "流程" if top else "子流程"
            lint.add(container, _("{what}没有开始事件").format(what=what))
        if not ad_hoc and not top and not any(local(n) == "endEvent" for n in nodes.values()):
            lint.add(container, _("子流程没有结束事件"))
        if not ad_hoc and container.get("triggeredByEvent") != "true":
            _reachability(lint, nodes, incoming)
        for node_id, node in nodes.items():
            _outgoing(lint, node, outgoing.get(node_id, []), nodes)
            _node(lint, node, nodes)
    for node in nodes.values():
        if local(node) in CONTAINERS:
            _container(lint, node, executable)


def _reachability(lint: _Lint, nodes: dict, incoming: dict) -> None:
    for node_id, node in nodes.items():
        if incoming.get(node_id) or local(node) in ("startEvent", "boundaryEvent"):
            continue
        if node.get("isForCompensation") == "true" or node.get("triggeredByEvent") == "true":
            continue
        if node.find(f"{{{BPMN}}}linkEventDefinition") is not None:
            continue      # reported as unsupported already
        lint.add(node, _("该元素没有进入的顺序流, 永远不会执行"))


def _outgoing(lint: _Lint, node, flows: list, nodes: dict) -> None:
    name = local(node)
    if len(flows) > 1 and name not in MULTIPLE_OUT:
        lint.add(node, _("只有网关和开始事件可以有多个出口顺序流, 请加一个网关"))
    conditioned = [f for f in flows if f.find(f"{{{BPMN}}}conditionExpression") is not None]
    if name == "eventBasedGateway":
        for f in flows:
            target = nodes.get(f.get("targetRef"))
            if target is not None and local(target) not in ("intermediateCatchEvent",
                                                            "receiveTask"):
                lint.add(f, _("事件网关的出口必须连到中间捕获事件或接收任务"))
    if name not in CONDITIONAL_GATEWAYS:
        for f in conditioned:
            if (f.find(f"{{{BPMN}}}conditionExpression").text or "").strip():
                lint.add(f, _("只有排他网关和包容网关的出口顺序流可以有条件, 这里的条件会被忽略"))
        return
    for f in conditioned:
        lint.code(f, f.find(f"{{{BPMN}}}conditionExpression").text, "eval",
                  _("条件表达式有误"))
    default = node.get("default")
    if default and default not in {f.get("id") for f in flows}:
        lint.add(node, _("默认路径 '{default}' 不是该网关的出口顺序流").format(default=default))
    if len(flows) < 2:
        return
    bare = [f.get("id") or "?" for f in flows if f.get("id") != default and not (
        (f.findtext(f"{{{BPMN}}}conditionExpression") or "").strip())]
    if bare:
        lint.add(node, _("网关的出口顺序流没有条件, 也不是默认路径: {value}").format(value=', '.join(bare)))


def _node(lint: _Lint, node, nodes: dict) -> None:
    name = local(node)
    if name == "scriptTask":
        script = node.find(f"{{{BPMN}}}script")
        if script is None or not (script.text or "").strip():
            lint.add(node, _("脚本任务没有脚本"))
        else:
            lint.code(script, script.text, "exec", _("脚本有误"), owner=node)
    elif name == "boundaryEvent":
        attached = nodes.get(node.get("attachedToRef"))
        if attached is None or local(attached) in GATEWAYS or "Event" in local(attached):
            lint.add(node, _("边界事件附着的活动 '{value}' 不存在").format(value=node.get('attachedToRef')))
        if not [c for c in node if local(c).endswith("EventDefinition")]:
            lint.add(node, _("边界事件缺少事件定义"))
    elif name == "callActivity" and not node.get("calledElement"):
        lint.add(node, _("调用活动没有指定被调用的流程"))
    elif name == "businessRuleTask" and not (node.findtext(f".//{{{SPIFF}}}calledDecisionId")
                                             or "").strip():
        lint.add(node, _("业务规则任务没有指定决策"))
    elif name == "serviceTask":
        operator = node.find(f".//{{{SPIFF}}}serviceTaskOperator")
        if operator is None or not operator.get("id"):
            lint.add(node, _("服务任务没有指定服务"))
        for param in node.iter(f"{{{SPIFF}}}parameter"):
            if "value" in param.attrib and not (param.get("id") and param.get("type")):
                lint.add(param, _("服务参数缺少 id 或 type"),
                         node.get("id"))
    multi = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
    if multi is not None and (multi.find(f"{{{BPMN}}}loopCardinality") is None) == (
            multi.find(f"{{{BPMN}}}loopDataInputRef") is None):
        lint.add(multi, _("多实例任务必须设置 loopCardinality 或 loopDataInputRef 二者之一"), node.get("id"))
    elif multi is not None:
        multi_instance_count(lint, multi, node, multi.findtext(f"{{{BPMN}}}loopCardinality"),
                             multi.findtext(f"{{{BPMN}}}loopDataInputRef"))
    for tag in ("preScript", "postScript"):
        for el in node.findall(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}{tag}"):
            lint.code(el, el.text, "exec", f"{tag} 有误 ({tag})", owner=node)
    for el in node.findall(f"{{{BPMN}}}timerEventDefinition"):
        parts = [c for c in el if local(c) in ("timeDuration", "timeDate", "timeCycle")]
        if not parts:
            lint.add(el, _("定时器没有设置时间"),
                     node.get("id"))
        for child in parts[:1]:    # spiff reads only the first
            _timer(lint, child, node)
    for el in node.findall(f"{{{BPMN}}}conditionalEventDefinition"):
        condition = el.find(f"{{{BPMN}}}condition")
        if condition is None or not (condition.text or "").strip():
            lint.add(el, _("条件事件没有条件"), node.get("id"))
        else:
            lint.code(condition, condition.text, "eval", _("条件事件的条件有误"), node)
    loops = (("standardLoopCharacteristics", "loopCondition"),
             ("standardLoopCharacteristics", "loopMaximum"),
             ("multiInstanceLoopCharacteristics", "loopCardinality"),
             ("multiInstanceLoopCharacteristics", "completionCondition"))
    for parent, child in loops:
        for el in node.findall(f"{{{BPMN}}}{parent}/{{{BPMN}}}{child}"):
            lint.code(el, el.text, "eval", f"循环表达式有误 ({child})", owner=node)


def _timer(lint: _Lint, el, node) -> None:
    text = (el.text or "").strip()
    if not text:
        lint.add(node, _("定时器表达式为空"))
        return
    if any(_iso_ok(kind, text) for kind in ("timeDuration", "timeDate", "timeCycle")):
        # unquoted P3D is a variable name and R3/PT1H a division: both fail when they run
        lint.add(node, _("定时器值需要加引号: \"{text}\"").format(text=text))
        return
    if not lint.code(el, text, "eval", _("定时器表达式有误"), owner=node):
        return
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return    # a variable or a computation: checked when it runs
    if not isinstance(value, str):
        lint.add(node, _("定时器表达式必须得到 ISO 8601 文本, 例如 \"P3D\""))
    elif too_long_duration(value):
        lint.add(node, _("定时器值 '{value}' 的时长超过 100 年").format(value=value))
    elif not _iso_ok(local(el), value):
        lint.add(node, _("定时器值 '{value}' 不是有效的 ISO 8601").format(value=value))
    else:
        check_timer_period(lint, local(el), value, node)


def _iso_ok(kind: str, value: str) -> bool:
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition as T

    if too_long_duration(value):
        return False      # spiff counts the months one by one
    try:
        if kind == "timeDuration":
            if not ISO_DURATION.match(value):
                return False
            T.parse_iso_duration(value)
        elif kind == "timeDate":
            T.get_datetime(value)
        else:
            T.parse_iso_recurring_interval(value)
        return True
    except Exception:   # spiff raises a mix of ValueError, TypeError, IndexError
        return False
