"""Instance commands: start, cancel, retry after an incident."""
from __future__ import annotations

import json

from sqlalchemy import select, update
from SpiffWorkflow.task import TaskState

from . import runner, spiff, store
from .errors import Conflict, Invalid
from .runner import Handle
from .schema import incidents
from .store import Unit

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
        raise Invalid("变量必须是对象 (variables must be an object)",
                      {"variables": ["必须是对象 (must be an object)"]})
    text = json.dumps(variables, ensure_ascii=False, default=str)
    if len(text.encode()) > MAX_START_VARIABLES_BYTES:
        raise Invalid("变量过大 (variables too large)", {"variables": ["超过 256 KB (too large)"]})
    bad = [k for k in variables if not isinstance(k, str) or not k.isidentifier()
           or k.startswith("_")]
    if bad:
        raise Invalid("变量名无效 (invalid variable names)",
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


def start(engine, unit: Unit, process_key: str, business_key: str | None = None,
          variables: dict | None = None, version: int | None = None) -> Handle:
    definition = engine.definition(unit.conn, process_key, version)
    if not (definition.meta or {}).get("executable", True):
        raise Invalid(f"流程 {process_key} 不可执行 (isExecutable=false)")
    variables = check_variables(variables)
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
        raise Conflict(f"流程实例已{'完成' if handle.state == 'completed' else '撤销'}, 无法撤销 "
                       f"(instance is {handle.state})")
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
        raise Conflict("流程实例没有待处理的故障 (instance has no incident)")
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
