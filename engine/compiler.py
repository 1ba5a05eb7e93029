"""From uploaded BPMN and DMN files to runnable specs: safe parsing, our lint, then
SpiffWorkflow's spiff parser. Every problem comes back as a `Problem` naming file, line and
element; no other exception escapes for bad input."""
from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from .lint import BPMN, SPIFF, Problem, is_executable, lint_bpmn, local
from .lint_dmn import lint_dmn, with_label_expressions
from .lint_limits import Limits, call_cycle
from .projection import is_async
from .xmlsafe import XmlError, parse
from engine.i18n import _

__all__ = ["SourceFile", "Problem", "CompileError", "CompiledProcess", "CompiledBundle",
           "compile_files", "declared_ids"]


@dataclass(frozen=True)
class SourceFile:
    name: str
    content: bytes


class CompileError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.file}:{p.line}: {p.message}" for p in problems[:5]))
        self.problems = problems


@dataclass
class CompiledProcess:
    key: str
    name: str
    file: str
    xml: str
    spec: object
    subprocess_specs: dict
    called_processes: set[str] = field(default_factory=set)
    decisions: set[str] = field(default_factory=set)
    start_messages: list[str] = field(default_factory=list)
    start_lane: str | None = None
    lanes: list[str] = field(default_factory=list)
    executable: bool = True


@dataclass
class CompiledBundle:
    processes: dict[str, CompiledProcess]
    decisions: dict[str, SourceFile]


class _Parser(SpiffBpmnParser):
    """Data stores have no implementation here: lint refuses them in executable processes, and
    documentation-only processes may show them without breaking the whole file."""

    def _add_data_stores(self, bpmn):
        return None


@dataclass
class _Parsed:
    source: SourceFile
    root: object
    kind: str                 # bpmn | dmn
    processes: dict           # id -> <process> element
    decisions: dict           # id -> <decision> element

    @property
    def ids(self) -> set[str]:
        return set(self.processes) | set(self.decisions)


def _read(f: SourceFile, root) -> _Parsed:
    is_dmn = root.tag != f"{{{BPMN}}}definitions" and (
        f.name.lower().endswith(".dmn") or "dmn" in (etree.QName(root).namespace or "").lower())
    if not is_dmn:
        procs = {p.get("id"): p for p in root.iter(f"{{{BPMN}}}process") if p.get("id")}
        return _Parsed(f, root, "bpmn", procs, {})
    decisions = {d.get("id"): d for d in root if local(d) == "decision" and d.get("id")}
    return _Parsed(f, root, "dmn", {}, decisions)


def declared_ids(f: SourceFile) -> set[str]:
    """Process and decision ids a file declares (empty when it does not parse)."""
    try:
        return _read(f, parse(f.content, f.name)).ids
    except XmlError:
        return set()


def compile_files(files: list[SourceFile], library: list[SourceFile],
                  limits: Limits | None = None) -> CompiledBundle:
    problems: list[Problem] = []
    uploaded = _parse_uploaded(files, problems, limits or Limits())
    if problems:
        raise CompileError(problems)
    extra = _library(library, uploaded)
    everything = uploaded + extra
    _check_references(uploaded, everything, problems)
    if not problems:
        _check_call_cycles(uploaded, everything, problems)
    if problems:
        raise CompileError(problems)
    roots = {p.source.name: p.root for p in everything}
    parser = _Parser()
    for p in everything:
        try:
            if p.kind == "bpmn":
                parser.add_bpmn_xml(p.root, filename=p.source.name)
            elif p.decisions:
                parser.add_dmn_xml(with_label_expressions(p.root), filename=p.source.name)
        except Exception as exc:   # spiff raises TypeError, KeyError ... on bad input
            problems.append(_problem(exc, roots, p.source.name))
    if problems:
        raise CompileError(problems)
    bundle = CompiledBundle({}, {})
    for p in uploaded:
        for decision_id in sorted(p.decisions):
            try:
                parser.dmn_parsers[decision_id].parse()
                bundle.decisions[decision_id] = p.source
            except Exception as exc:
                problems.append(_problem(exc, roots, p.source.name))
        for key, process in p.processes.items():
            try:
                bundle.processes[key] = _compile_process(parser, p, process)
            except Exception as exc:
                problems.append(_problem(exc, roots, p.source.name, process))
    if problems:
        raise CompileError(problems)
    return bundle


def _parse_uploaded(files: list[SourceFile], problems: list[Problem],
                    limits: Limits) -> list[_Parsed]:
    parsed: list[_Parsed] = []
    for f in files:
        try:
            root = parse(f.content, f.name)
        except XmlError as exc:
            problems.append(Problem(exc.file, exc.line, None, exc.message))
            continue
        p = _read(f, root)
        try:
            problems.extend(lint_bpmn(root, f.name, limits) if p.kind == "bpmn"
                            else lint_dmn(root, f.name))
        except (RecursionError, MemoryError) as exc:   # the checks themselves ran out
            problems.append(Problem(f.name, None, None, _("文件过于复杂, 无法检查, 请拆分: {name}").format(
                                                            name=type(exc).__name__)))
        parsed.append(p)
    seen: dict[str, str] = {}
    for p in parsed:
        for i, el in sorted({**p.processes, **p.decisions}.items()):
            if i in seen and seen[i] != p.source.name:
                problems.append(Problem(p.source.name, el.sourceline, i,
                                        _("id '{i}' 已在 {value} 中定义").format(i=i, value=seen[i])))
            seen.setdefault(i, p.source.name)
    return parsed


def _library(library: list[SourceFile], uploaded: list[_Parsed]) -> list[_Parsed]:
    """Deployed files that resolve calls and decisions; what is uploaded now wins, so the
    processes and decisions it redeclares are cut out of (a copy of) the older file."""
    names = {p.source.name for p in uploaded}
    taken = set().union(*(p.ids for p in uploaded))
    extra = []
    for f in library:
        if f.name in names:
            continue
        try:
            p = _read(f, parse(f.content, f.name))
        except XmlError:
            continue          # deployed before: cannot happen unless the store was edited
        clash = p.ids & taken
        if clash == p.ids and p.ids:
            continue
        if clash:
            p = _without(p, clash)
        extra.append(p)
        taken |= p.ids
    return extra


def _without(p: _Parsed, ids: set[str]) -> _Parsed:
    root = copy.deepcopy(p.root)
    for el in list(root.iter(f"{{{BPMN}}}process")) + [d for d in root if local(d) == "decision"]:
        if el.get("id") in ids:
            el.getparent().remove(el)
    return _read(p.source, root)


def _check_references(uploaded: list[_Parsed], everything: list[_Parsed], problems) -> None:
    """Calls and decisions must exist: spiff's own messages name neither file nor line."""
    processes = {i: proc for p in everything for i, proc in p.processes.items()}
    decisions = {i for p in everything for i in p.decisions}
    for p in uploaded:
        for process in p.processes.values():
            if not is_executable(process):
                continue
            for call in process.iter(f"{{{BPMN}}}callActivity"):
                called = call.get("calledElement")
                if called and called not in processes:
                    problems.append(Problem(p.source.name, call.sourceline, call.get("id"),
                                            _("调用的流程 '{called}' 不存在, 请一并上传或先部署").format(
                                                called=called)))
                elif called and not is_executable(processes[called]):
                    problems.append(Problem(p.source.name, call.sourceline, call.get("id"),
                                            _("调用的流程 '{called}' 不可执行").format(called=called)))
            for el in process.iter(f"{{{SPIFF}}}calledDecisionId"):
                ref = (el.text or "").strip()
                if ref and ref not in decisions:
                    task = next((a for a in el.iterancestors() if a.get("id")), el)
                    problems.append(Problem(p.source.name, task.sourceline, task.get("id"),
                                            _("引用的决策 '{ref}' 不存在, 请一并上传 DMN 或先部署").format(ref=ref)))


def _check_call_cycles(uploaded: list[_Parsed], everything: list[_Parsed], problems) -> None:
    """A process that calls itself, directly or through others, never ends: refused."""
    calls = {i: [c.get("calledElement") for c in proc.iter(f"{{{BPMN}}}callActivity")
                 if c.get("calledElement")]
             for p in everything for i, proc in p.processes.items() if is_executable(proc)}
    for p in uploaded:
        for key, process in p.processes.items():
            if not is_executable(process):
                continue
            cycle = call_cycle(key, calls)
            if cycle is None:
                continue
            call = next(c for c in process.iter(f"{{{BPMN}}}callActivity")
                        if c.get("calledElement") == cycle[1])
            problems.append(Problem(p.source.name, call.sourceline, call.get("id"),
                                    _("调用活动形成循环: {value}, 流程永远不会结束").format(value=' → '.join(cycle))))


def _line_of(root, element_id: str | None) -> int | None:
    if root is None or not element_id:
        return None
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") == element_id:
            return el.sourceline
    return None


def _problem(exc: Exception, roots: dict, default_file: str, near=None) -> Problem:
    file_name = getattr(exc, "file_name", "") or default_file
    if file_name not in roots:
        file_name = default_file
    element_id = getattr(exc, "id", None) or None
    line = _line_of(roots.get(file_name), element_id)
    if line is None and near is not None:
        line, element_id = near.sourceline, element_id or near.get("id")
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, RecursionError) or "RecursionError" in detail:
        return Problem(file_name, line, element_id, _("流程的连续步骤太多, 无法解析, 请拆分为子流程"))
    if type(exc).__name__ != "ValidationException":
        detail = f"{type(exc).__name__}: {detail}"
    return Problem(file_name, line, element_id, _("无法解析: {detail}").format(detail=detail))


def _compile_process(parser, p: _Parsed, process) -> CompiledProcess:
    key = process.get("id")
    name = process.get("name") or _participant_name(p.root, key) or key
    if is_executable(process):
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
        for each in (spec, *subprocess_specs.values()):
            for task_spec in each.task_specs.values():
                if is_async(task_spec):
                    task_spec.manual = True     # spiff's engine steps stop before it
    else:    # documentation: kept for viewing, never started (instances refuse it)
        spec, subprocess_specs = BpmnProcessSpec(name=key, description=name,
                                                 filename=p.source.name), {}
    calls = {el.get("calledElement") for el in process.iter(f"{{{BPMN}}}callActivity")
             if el.get("calledElement")}
    decisions = {(el.text or "").strip() for el in process.iter(f"{{{SPIFF}}}calledDecisionId")}
    lanes, start_lane = _lanes(process)
    return CompiledProcess(
        key=key, name=name, file=p.source.name, xml=_text(p.source.content), spec=spec,
        subprocess_specs=subprocess_specs, called_processes=calls,
        decisions={d for d in decisions if d}, start_messages=_start_messages(p.root, process),
        start_lane=start_lane, lanes=lanes, executable=is_executable(process))


def _text(content: bytes) -> str:
    for bom, encoding in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if content.startswith(bom):
            return content.decode(encoding)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:      # declared in another encoding: lxml knows which
        tree = etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True,
                                                         load_dtd=False))
        return etree.tostring(tree, encoding="unicode")


def _participant_name(root, process_id: str) -> str | None:
    for participant in root.iter(f"{{{BPMN}}}participant"):
        if participant.get("processRef") == process_id and participant.get("name"):
            return participant.get("name")
    return None


def _lanes(process) -> tuple[list[str], str | None]:
    """Lane names of the top level, and the lane that starts the process: the start event's
    lane, else the lane of the first user task reached from a start event."""
    lanes, owner = [], {}
    for lane_set in process.findall(f"{{{BPMN}}}laneSet"):
        for lane in lane_set.iter(f"{{{BPMN}}}lane"):
            name = lane.get("name") or lane.get("id")
            if name not in lanes:
                lanes.append(name)
            for ref in lane.findall(f"{{{BPMN}}}flowNodeRef"):
                owner[(ref.text or "").strip()] = name   # nested lanes: the innermost wins
    nodes = {c.get("id"): c for c in process if isinstance(c.tag, str) and c.get("id")}
    starts = [i for i, c in nodes.items() if local(c) == "startEvent"]
    start_lane = next((owner[s] for s in starts if s in owner), None)
    if start_lane is not None:
        return lanes, start_lane
    targets: dict[str, list[str]] = {}
    for flow in process.findall(f"{{{BPMN}}}sequenceFlow"):
        targets.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    queue, seen = deque(starts), set(starts)
    while queue:
        node_id = queue.popleft()
        node = nodes.get(node_id)
        if node is not None and local(node) == "userTask" and node_id in owner:
            return lanes, owner[node_id]
        for nxt in targets.get(node_id, []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return lanes, None


def _start_messages(root, process) -> list[str]:
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{BPMN}}}message")}
    found = []
    for start in process:
        if local(start) != "startEvent":
            continue
        for definition in start.findall(f"{{{BPMN}}}messageEventDefinition"):
            ref = definition.get("messageRef")
            if ref in names and names[ref] not in found:
                found.append(names[ref])
    return found
