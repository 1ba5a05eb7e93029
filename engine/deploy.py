"""Deploying BPMN, DMN and form files as new definition versions, all or nothing.

A process version is what runs: its spec together with the decisions and called processes it
was compiled against. Deploying a decision table or a called process therefore also gives the
processes that use it a new version (when what they run changes); running instances keep theirs.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition

from .compiler import CompileError, SourceFile, compile_files
from .errors import Invalid
from .lint_limits import limits_of
from .schema import definitions, start_messages
from .serializer import dump_specs
from .store import Unit
from engine.i18n import _

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES = 100
DEFAULT_MESSAGE_VARIABLE = "message"
KINDS = {".bpmn": "bpmn", ".dmn": "dmn", ".json": "form"}


@dataclass
class Deployed:
    kind: str
    key: str
    name: str
    version: int
    created: bool      # False: identical to the latest version, nothing new


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def kind_of(file_name: str) -> str | None:
    lower = file_name.lower()
    return next((k for ext, k in KINDS.items() if lower.endswith(ext)), None)


def deploy(unit: Unit, files: list[SourceFile], settings=None) -> list[Deployed]:
    """`settings` (EngineSettings) gives the limits lint holds diagrams to (call cycles,
    multi-instance counts, timer periods); their defaults otherwise."""
    limits = limits_of(settings)
    errors = _check_upload(files)
    if errors:
        # Report the model problems of the other files too: one round trip for the designer.
        rest = [f for f in files if f.name not in errors and kind_of(f.name) in ("bpmn", "dmn")]
        try:
            compile_files(rest, [], limits) if rest else None
        except CompileError as exc:
            errors.update(_problems(exc.problems))
        raise Invalid(_("部署失败: 文件无效"), errors)
    forms = [f for f in files if kind_of(f.name) == "form"]
    models = [f for f in files if kind_of(f.name) in ("bpmn", "dmn")]
    form_defs = _load_forms(forms)
    conn = unit.conn
    library = _latest_sources(conn)
    models = models + _dependents(conn, models, library)
    try:
        bundle = compile_files(models, list(library.values()), limits) if models else None
    except CompileError as exc:
        raise Invalid(_("部署失败: 模型有错误"), _problems(exc.problems)) from exc
    result: list[Deployed] = []
    if bundle is not None:
        for decision_id, source in bundle.decisions.items():
            if any(f.name == source.name for f in files):
                result.append(_store(unit, "dmn", decision_id, decision_id, source.name,
                                     source.content.decode("utf-8-sig"), sha256(source.content),
                                     None, {}))
        for key, proc in bundle.processes.items():
            _default_message_variables(proc.spec, proc.subprocess_specs)
            compiled = dump_specs(proc.spec, proc.subprocess_specs)
            meta = {"lanes": proc.lanes, "start_lane": proc.start_lane,
                    "start_messages": proc.start_messages,
                    "called_processes": sorted(proc.called_processes),
                    "decisions": sorted(proc.decisions), "executable": proc.executable,
                    "file_sha256": sha256(proc.xml)}
            run_hash = sha256(json.dumps(compiled, sort_keys=True, ensure_ascii=False))
            deployed = _store(unit, "bpmn", key, proc.name, proc.file, proc.xml, run_hash,
                              compiled, meta)
            result.append(deployed)
            if deployed.created:
                _refresh_start_messages(conn, key, proc.start_messages)
    for name, form in form_defs:
        text = json.dumps(form, ensure_ascii=False, sort_keys=True)
        result.append(_store(unit, "form", form["id"], form.get("name") or form["id"], name,
                             text, sha256(text), None, {}))
    return result


def _check_upload(files: list[SourceFile]) -> dict:
    if not files:
        return {"files": [_("请至少上传一个 .bpmn、.dmn 或表单 .json 文件")]}
    if len(files) > MAX_FILES:
        return {"files": [_("一次最多部署 {MAX_FILES} 个文件").format(MAX_FILES=MAX_FILES)]}
    errors: dict[str, list] = {}
    for f in files:
        if kind_of(f.name) is None:
            errors.setdefault(f.name, []).append(
                {"line": None, "message": _("仅支持 .bpmn、.dmn 和表单 .json 文件")})
        elif len(f.content) > MAX_FILE_BYTES:
            errors.setdefault(f.name, []).append(
                {"line": None, "message": _("文件超过 {value} MB").format(
                                              value=MAX_FILE_BYTES // 1024 // 1024)})
        elif not f.content.strip():
            errors.setdefault(f.name, []).append({"line": None, "message": _("文件为空")})
    return errors


def _load_forms(forms: list[SourceFile]) -> list[tuple[str, dict]]:
    from forms.definition import FormDefinitionError, load_form

    loaded, errors = [], {}
    for f in forms:
        try:
            loaded.append((f.name, load_form(f.content, f.name)))
        except FormDefinitionError as exc:
            errors[f.name] = [{"line": None, "path": p.path, "message": p.message}
                              for p in exc.problems]
    if errors:
        raise Invalid(_("部署失败: 表单定义有错误"), errors)
    return loaded


def _problems(problems) -> dict:
    errors: dict[str, list] = {}
    for p in problems:
        errors.setdefault(p.file, []).append(
            {"line": p.line, "element_id": p.element_id, "message": p.message})
    return errors


def _latest_rows(conn: Connection, kind: str):
    latest = (select(definitions.c.key, func.max(definitions.c.version).label("v"))
              .where(definitions.c.kind == kind).group_by(definitions.c.key).subquery())
    return conn.execute(select(definitions).join(
        latest, (definitions.c.key == latest.c.key) & (definitions.c.version == latest.c.v))
        .where(definitions.c.kind == kind)).all()


def _latest_sources(conn: Connection) -> dict[str, SourceFile]:
    """Latest BPMN and DMN files, one SourceFile per distinct file content."""
    sources: dict[str, SourceFile] = {}
    for kind in ("bpmn", "dmn"):
        for row in _latest_rows(conn, kind):
            data = row.source.encode()
            sources.setdefault(sha256(data), SourceFile(row.file_name, data))
    return sources


def _dependents(conn: Connection, uploaded: list[SourceFile], library: dict) -> list[SourceFile]:
    """Latest process files that call an uploaded process or use an uploaded decision."""
    from .compiler import declared_ids

    changed: set[str] = set()
    for f in uploaded:
        changed |= declared_ids(f)
    rows = _latest_rows(conn, "bpmn")
    extra: dict[str, SourceFile] = {}
    grew = True
    while grew:
        grew = False
        for row in rows:
            refs = set(row.meta.get("called_processes", [])) | set(row.meta.get("decisions", []))
            if row.key not in changed and refs & changed:
                changed.add(row.key)
                data = row.source.encode()
                extra.setdefault(sha256(data), SourceFile(row.file_name, data))
                grew = True
    uploaded_names = {f.name for f in uploaded}
    return [f for f in extra.values() if f.name not in uploaded_names]


def _store(unit: Unit, kind: str, key: str, name: str, file_name: str, source: str,
           run_hash: str, compiled: dict | None, meta: dict) -> Deployed:
    conn = unit.conn
    latest = conn.execute(select(definitions.c.version, definitions.c.sha256)
                          .where(definitions.c.kind == kind, definitions.c.key == key)
                          .order_by(definitions.c.version.desc()).limit(1)).first()
    if latest is not None and latest.sha256 == run_hash:
        return Deployed(kind, key, name, latest.version, False)
    version = (latest.version if latest else 0) + 1
    conn.execute(insert(definitions).values(
        kind=kind, key=key, version=version, name=name[:300], file_name=file_name[:300],
        sha256=run_hash, source=source, compiled=compiled, meta=meta, deployed_at=unit.now,
        deployed_by=unit.actor))
    unit.record("definition.deployed", definition_kind=kind, key=key, version=version, file=file_name,
                sha256=run_hash)
    return Deployed(kind, key, name, version, True)


def _refresh_start_messages(conn: Connection, key: str, names: list[str]) -> None:
    conn.execute(delete(start_messages).where(start_messages.c.process_key == key))
    if names:
        conn.execute(insert(start_messages),
                     [{"message_name": n, "process_key": key} for n in sorted(set(names))])


def _default_message_variables(spec, subprocess_specs: dict) -> None:
    """Without spiffworkflow:messageVariable spiff drops the payload; keep it as `message`."""
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            ed = getattr(task_spec, "event_definition", None)
            defs = ed.event_definitions if isinstance(ed, MultipleEventDefinition) else [ed]
            for d in defs:
                if isinstance(d, MessageEventDefinition) and hasattr(d, "message_var") \
                        and not d.message_var:
                    d.message_var = DEFAULT_MESSAGE_VARIABLE
