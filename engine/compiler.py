"""From uploaded BPMN and DMN files to runnable specs: safe parsing, our lint, then
SpiffWorkflow's spiff parser. Every problem comes back as a `Problem` naming file, line and
element; nothing else escapes for bad input."""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from .lint import BPMN, SPIFF, Problem, lint_bpmn, lint_dmn, local
from .xmlsafe import XmlError, parse

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


@dataclass
class _Parsed:
    source: SourceFile
    root: object
    kind: str           # bpmn | dmn
    ids: set[str]


def _kind(root) -> str:
    return "bpmn" if root.tag == f"{{{BPMN}}}definitions" else "dmn"


def _ids(root, kind: str) -> set[str]:
    if kind == "bpmn":
        return {p.get("id") for p in root.iter(f"{{{BPMN}}}process") if p.get("id")}
    ns = etree.QName(root).namespace
    return {d.get("id") for d in root.iter(f"{{{ns}}}decision") if d.get("id")}


def declared_ids(f: SourceFile) -> set[str]:
    """Process and decision ids a file declares (empty when it does not parse)."""
    try:
        root = parse(f.content, f.name)
    except XmlError:
        return set()
    return _ids(root, _kind(root))


def _parse_all(files: list[SourceFile], problems: list[Problem]) -> list[_Parsed]:
    parsed = []
    for f in files:
        try:
            root = parse(f.content, f.name)
        except XmlError as exc:
            problems.append(Problem(exc.file, exc.line, None, exc.message))
            continue
        kind = _kind(root)
        lint = lint_bpmn if kind == "bpmn" and not f.name.lower().endswith(".dmn") else lint_dmn
        problems.extend(lint(root, f.name))
        parsed.append(_Parsed(f, root, "bpmn" if lint is lint_bpmn else "dmn", _ids(root, kind)))
    seen: dict[str, str] = {}
    for p in parsed:
        for i in sorted(p.ids):
            if i in seen:
                problems.append(Problem(p.source.name, None, i,
                                        f"id '{i}' 已在 {seen[i]} 中定义 (declared twice)"))
            seen[i] = p.source.name
    return parsed


def _line_of(roots: dict[str, object], file_name: str, element_id: str | None) -> int | None:
    root = roots.get(file_name)
    if root is None or not element_id:
        return None
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") == element_id:
            return el.sourceline
    return None


def _problem(exc: Exception, roots: dict, default_file: str) -> Problem:
    file_name = getattr(exc, "file_name", "") or default_file
    element_id = getattr(exc, "id", None) or None
    line = _line_of(roots, file_name, element_id)
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return Problem(file_name, line, element_id, f"无法解析 (cannot parse): {detail}")


def compile_files(files: list[SourceFile], library: list[SourceFile]) -> CompiledBundle:
    problems: list[Problem] = []
    uploaded = _parse_all(files, problems)
    if problems:
        raise CompileError(problems)
    taken = set().union(*(p.ids for p in uploaded)) if uploaded else set()
    names = {f.name for f in files}
    extra = []
    for f in library:
        if f.name in names:
            continue
        ids = declared_ids(f)
        if ids & taken:
            continue      # the uploaded file replaces this one
        try:
            root = parse(f.content, f.name)
        except XmlError:
            continue
        extra.append(_Parsed(f, root, "dmn" if f.name.lower().endswith(".dmn") else "bpmn", ids))
        taken |= ids
    roots = {p.source.name: p.root for p in uploaded + extra}
    parser = SpiffBpmnParser()
    for p in uploaded + extra:
        try:
            if p.kind == "bpmn":
                parser.add_bpmn_xml(p.root, filename=p.source.name)
            else:
                parser.add_dmn_xml(p.root, filename=p.source.name)
        except Exception as exc:   # spiff raises TypeError, KeyError ... on bad input
            problems.append(_problem(exc, roots, p.source.name))
    if problems:
        raise CompileError(problems)
    bundle = CompiledBundle({}, {})
    for p in uploaded:
        if p.kind == "dmn":
            _compile_decisions(parser, p, bundle, problems, roots)
            continue
        for process in p.root.iter(f"{{{BPMN}}}process"):
            try:
                bundle.processes[process.get("id")] = _compile_process(parser, p, process)
            except Exception as exc:
                problems.append(_problem(exc, roots, p.source.name))
    if problems:
        raise CompileError(problems)
    return bundle


def _compile_decisions(parser, p: _Parsed, bundle: CompiledBundle, problems, roots) -> None:
    for decision_id in sorted(p.ids):
        try:
            dmn = parser.dmn_parsers.get(decision_id)
            if dmn is None:
                raise ValueError(f"decision {decision_id} not found")
            dmn.parse()
            bundle.decisions[decision_id] = p.source
        except Exception as exc:
            problems.append(_problem(exc, roots, p.source.name))


def _compile_process(parser, p: _Parsed, process) -> CompiledProcess:
    key = process.get("id")
    spec = parser.get_spec(key)
    subprocess_specs = parser.get_subprocess_specs(key)
    calls = {el.get("calledElement") for el in process.iter(f"{{{BPMN}}}callActivity")
             if el.get("calledElement")}
    decisions = {(el.text or "").strip() for el in process.iter(f"{{{SPIFF}}}calledDecisionId")}
    lanes, start_lane = _lanes(process)
    return CompiledProcess(
        key=key, name=process.get("name") or key, file=p.source.name,
        xml=p.source.content.decode("utf-8-sig"), spec=spec, subprocess_specs=subprocess_specs,
        called_processes=calls, decisions={d for d in decisions if d},
        start_messages=_start_messages(p.root, process), start_lane=start_lane, lanes=lanes,
        executable=process.get("isExecutable", "true").lower() != "false")


def _lanes(process) -> tuple[list[str], str | None]:
    lanes, owner = [], {}
    for lane in process.iter(f"{{{BPMN}}}lane"):
        name = lane.get("name") or lane.get("id")
        if name not in lanes:
            lanes.append(name)
        for ref in lane.iter(f"{{{BPMN}}}flowNodeRef"):
            owner.setdefault((ref.text or "").strip(), name)
    starts = [c.get("id") for c in process if local(c) == "startEvent"]
    start_lane = next((owner[s] for s in starts if s in owner), None)
    if start_lane is None:
        first = next((t.get("id") for t in process.iter(f"{{{BPMN}}}userTask")
                      if t.get("id") in owner), None)
        start_lane = owner.get(first) if first else None
    return lanes, start_lane


def _start_messages(root, process) -> list[str]:
    names = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{BPMN}}}message")}
    found = []
    for start in process:
        if local(start) != "startEvent":
            continue
        for definition in start.iter(f"{{{BPMN}}}messageEventDefinition"):
            ref = definition.get("messageRef")
            if ref in names:
                found.append(names[ref])
    return found
