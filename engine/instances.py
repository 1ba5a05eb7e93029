"""Instance commands: start, cancel, retry after an incident."""
from __future__ import annotations

import json

from marshmallow import ValidationError
from sqlalchemy import select, update
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.task import TaskState

from . import runner, spiff, store
from .errors import Conflict, Invalid
from .runner import Handle
from .schema import incidents
from .store import Unit, load_specs
from engine.i18n import _

MAX_START_VARIABLES_BYTES = 256_000
# Finished history is cut out of a workflow's task tree once it has this many tasks (a loop
# would otherwise grow its blob and every step's cost without end; the audit trail keeps it).
COMPACT_ABOVE = 60
COMPACT_KEEP = 8
COMPACT_MIN = 20


def load_handle(engine, unit: Unit, instance_id: str, row=None) -> Handle:
    loaded = store.load(unit.conn, engine.specs, instance_id, engine.workflows, row)
    row = loaded.row
    definition = engine.definition_by_id(unit.conn, row.definition_id)
    handle = Handle(id=row.id, definition=definition, business_key=row.business_key,
                    scope_key=row.scope_key, wf=loaded.workflow, row=row, state=row.state)
    handle.previous = loaded.waits if loaded.waits is not None \
        else store.projected(loaded.workflow, row.state)
    if row.state == "running" and len(loaded.workflow.tasks) > COMPACT_ABOVE:
        # before the step: the tasks it completes are still there for the projection
        removed = spiff.compact(loaded.workflow, keep=COMPACT_KEEP, min_cut=COMPACT_MIN)
        if removed:
            unit.record("instance.compacted", row.id, removed_tasks=removed)
    runner.attach_scripts(engine, handle, unit)
    return handle


def check_variables(variables) -> dict:
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise Invalid(_("变量必须是对象"),
                      {"variables": [_("必须是对象")]})
    text = json.dumps(variables, ensure_ascii=False, default=str)
    if len(text.encode()) > MAX_START_VARIABLES_BYTES:
        raise Invalid(_("变量过大"), {"variables": [_("超过 256 KB")]})
    bad = [k for k in variables if not isinstance(k, str) or not k.isidentifier()
           or k.startswith("_")]
    if bad:
        raise Invalid(_("变量名无效"),
                      {"variables": [f"变量名必须是标识符且不能以下划线开头: {bad[:5]}"]})
    return json.loads(text)


def new_handle(engine, unit: Unit, definition, business_key: str | None,
               variables: dict) -> Handle:
    wf = engine.new_workflow(unit.conn, definition)
    if variables:
        for task in wf.get_tasks(state=TaskState.READY):
            task.set_data(**variables)
    handle = Handle(id=runner.new_instance_id(), definition=definition,
                    business_key=business_key,
                    scope_key=engine.scope_of(business_key, variables), wf=wf)
    runner.attach_scripts(engine, handle, unit)
    return handle


def start_form_key(spec) -> str | None:
    """The form a person fills to start the process: `formKey` on its none start event, the
    same spiffworkflow:properties a user task names its form with."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent) and isinstance(
                getattr(task_spec, "event_definition", None), NoneEventDefinition):
            props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            if props.get("formKey") or props.get("form"):
                return props.get("formKey") or props.get("form")
    return None


def start_form(engine, conn, definition, strict: bool = True) -> dict | None:
    """The latest version of the definition's start form; None when it names none (or, not
    strict, when the form it names is not deployed)."""
    key = start_form_key(load_specs(conn, engine.specs, definition.id)[0])
    if key is None:
        return None
    form = engine.latest_form(conn, key)
    if form is None and strict:
        raise Invalid(_("启动表单 '{key}' 未部署, 无法启动").format(key=key),
                      {"process_key": [_("缺少启动表单 {key}").format(key=key)]})
    return form


def check_start_form(engine, conn, definition, variables: dict) -> dict:
    """Variables of a person's start, cleaned by the start form: 422 by field otherwise."""
    form = start_form(engine, conn, definition)
    if form is None:
        return variables
    from forms.schema import validate_submission

    try:
        return validate_submission(form, variables)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"variables": exc.messages}
        raise Invalid(_("启动表单校验未通过"), messages) from exc


def start(engine, unit: Unit, process_key: str, business_key: str | None = None,
          variables: dict | None = None, version: int | None = None,
          by_person: bool = False, definition=None) -> Handle:
    """A new instance run to its first wait state. `by_person`: a person starts it, so the
    variables are what the start form asks (checked by it); processes starting processes and
    timer or message starts pass their own data. `definition`: the row of `process_key` and
    `version` when the caller read it already in this transaction."""
    if definition is None:
        definition = engine.definition(unit.conn, process_key, version)
    if not (definition.meta or {}).get("executable", True):
        raise Invalid(_("流程 {process_key} 不可执行").format(process_key=process_key))
    variables = check_variables(variables)
    if by_person:
        variables = check_start_form(engine, unit.conn, definition, variables)
    handle = new_handle(engine, unit, definition, business_key, variables)
    unit.record("instance.started", handle.id, process_key=process_key,
                version=definition.version, business_key=business_key,
                variables=variables)
    runner.advance(engine, unit, handle)
    runner.persist(engine, unit, handle)
    return handle


def cancel(engine, unit: Unit, instance_id: str, reason: str) -> Handle:
    handle = load_handle(engine, unit, instance_id)
    if handle.state in ("completed", "cancelled"):
        raise Conflict(_("流程实例已{value}, 无法撤销: {state}").format(
                           value='完成' if handle.state == 'completed' else '撤销', state=handle.state))
    handle.wf.cancel()
    handle.state = "cancelled"
    unit.record("instance.cancelled", handle.id, reason=reason)
    _resolve_incidents(unit, handle.id)
    runner.persist(engine, unit, handle)
    return handle


def retry(engine, unit: Unit, instance_id: str) -> Handle:
    """Run the failed steps again (after the cause was fixed: a service back up, a new
    definition deployed for a migrated instance, data corrected)."""
    handle = load_handle(engine, unit, instance_id)
    if handle.state != "error":
        raise Conflict(_("流程实例没有待处理的故障"))
    _resolve_incidents(unit, handle.id)
    handle.state = "running"
    unit.record("incident.retried", handle.id)
    failed = handle.wf.get_tasks(state=TaskState.ERROR)
    try:
        for task in failed:
            task.run()
    except Exception as exc:
        runner.open_incident(unit, handle, exc)
    else:
        runner.advance(engine, unit, handle)
    runner.persist(engine, unit, handle)
    return handle


def _resolve_incidents(unit: Unit, instance_id: str) -> None:
    unit.conn.execute(update(incidents).where(incidents.c.instance_id == instance_id,
                                              incidents.c.resolved_at.is_(None))
                      .values(resolved_at=unit.now, resolved_by=unit.actor))


def open_incidents(conn, instance_id: str) -> list[dict]:
    rows = conn.execute(select(incidents).where(incidents.c.instance_id == instance_id,
                                                incidents.c.resolved_at.is_(None))
                        .order_by(incidents.c.id)).all()
    return [{"id": r.id, "task_id": r.task_id, "element_id": r.element_id, "kind": r.kind,
             "message": r.message, "created_at": r.created_at} for r in rows]
