"""User-task commands: claim, release, save a draft, complete."""
from __future__ import annotations

import json

from marshmallow import ValidationError
from sqlalchemy import bindparam, select, update
from SpiffWorkflow.task import TaskState

from . import runner, store
from .errors import Conflict, Invalid, NotFound
from .instances import load_handle
from .driver import Prebuilt
from .projection import find_task
from . import attachments as attachment_store
from .schema import definitions, instances, tasks
from .store import Unit
from engine.i18n import _

MAX_DATA_BYTES = 256_000


_FORM_ID = (select(definitions.c.id)
            .where(definitions.c.kind == "form", definitions.c.key == tasks.c.form_key)
            .order_by(definitions.c.version.desc()).limit(1).scalar_subquery())
_TASK_ROW = select(tasks, _FORM_ID.label("form_id")).where(tasks.c.id == bindparam("task_id"))
# a completion reads its task and its instance (without the blob) in one statement
_PREFIX = "instance__"
_TASK_AND_INSTANCE = Prebuilt(
    select(tasks, _FORM_ID.label("form_id"),
           *[c.label(_PREFIX + c.name) for c in store.INSTANCE_COLUMNS])
    .join(instances, instances.c.id == tasks.c.instance_id)
    .where(tasks.c.id == bindparam("task_id")))


class _InstanceRow:
    """The instance columns of a _TASK_AND_INSTANCE row, read like an instances row."""

    def __init__(self, row):
        mapping = row._mapping
        for c in store.INSTANCE_COLUMNS:
            setattr(self, c.name, mapping[_PREFIX + c.name])


def task_row(conn, task_id: str):
    """The task's projection row, with the id of its form's latest version (`form_id`)."""
    row = conn.execute(_TASK_ROW, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(_("任务不存在: {task_id}").format(task_id=task_id))
    return row


def _require_open(row) -> None:
    if row.state != "open":
        raise Conflict(_("任务已{value}, 不能再办理: {state}").format(
                           value=_STATE_CN.get(row.state, row.state), state=row.state))


_STATE_CN = {"completed": "完成", "cancelled": "取消"}


def claim(engine, unit: Unit, task_id: str, user: str) -> None:
    row = task_row(unit.conn, task_id)
    _require_open(row)
    if row.assignee and row.assignee != user:
        raise Conflict(_("任务已由 {assignee} 认领").format(assignee=row.assignee))
    result = unit.conn.execute(update(tasks).where(
        tasks.c.id == task_id, tasks.c.state == "open",
        (tasks.c.assignee.is_(None)) | (tasks.c.assignee == user)).values(assignee=user))
    if result.rowcount != 1:
        raise Conflict(_("任务已被他人认领"))
    unit.record("task.claimed", row.instance_id, task_id, element_id=row.element_id,
                assignee=user)


def unclaim(engine, unit: Unit, task_id: str, user: str, force: bool = False) -> None:
    row = task_row(unit.conn, task_id)
    _require_open(row)
    if row.assignee is None:
        raise Conflict(_("任务尚未被认领"))
    if row.assignee != user and not force:
        raise Conflict(_("任务由 {assignee} 认领, 只有认领人可以释放").format(assignee=row.assignee))
    unit.conn.execute(update(tasks).where(tasks.c.id == task_id).values(assignee=None))
    unit.record("task.unclaimed", row.instance_id, task_id, element_id=row.element_id,
                previous_assignee=row.assignee)


def validate(engine, conn, row, data, partial: bool = False) -> dict:
    """Clean submitted data with the task's form; without a form, a plain JSON object."""
    if not isinstance(data, dict):
        raise Invalid(_("表单数据必须是对象"),
                      {"data": [_("必须是对象")]})
    if len(json.dumps(data, ensure_ascii=False, default=str).encode()) > MAX_DATA_BYTES:
        raise Invalid(_("表单数据过大"), {"data": [_("超过 256 KB")]})
    form = engine.form_by_id(conn, row.form_id) if row.form_id else None
    if form is None:
        bad = [k for k in data if not isinstance(k, str) or not k.isidentifier()
               or k.startswith("_")]
        if bad:
            raise Invalid(_("字段名无效"),
                          {k: [_("字段名必须是标识符")] for k in bad[:20]})
        return json.loads(json.dumps(data, ensure_ascii=False, default=str))
    from forms.schema import validate_submission

    try:
        cleaned = validate_submission(form, data, partial=partial)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"data": exc.messages}
        raise Invalid(_("表单校验未通过"), messages) from exc
    errors = {}
    for key, ids in attachment_refs(form, cleaned).items():
        problem = attachment_store.check_references(conn, row, ids)
        if problem:
            errors[key] = problem["attachments"]
    if errors:
        raise Invalid(_("附件无效"), errors)
    return cleaned


def attachment_refs(form: dict, cleaned: dict) -> dict[str, list[str]]:
    """Attachment ids the data refers to, by file field (file fields in dynamic lists too)."""
    from forms.definition import form_fields

    def at(data, dotted: str):
        for part in dotted.split("."):
            data = data.get(part) if isinstance(data, dict) else None
        return data

    def ids(value) -> list[str]:
        values = value if isinstance(value, list) else [value]
        return [v for v in values if isinstance(v, str) and v]

    found: dict[str, list[str]] = {}
    for field in form_fields(form):
        if field.get("type") == "filepicker":
            found[field["key"]] = ids(at(cleaned, field["key"]))
        elif field.get("type") == "dynamiclist":
            inner = [c for c in form_fields({"components": field.get("components", [])})
                     if c.get("type") == "filepicker"]
            rows = at(cleaned, field["key"]) or []
            for c in inner:
                found[f"{field['key']}.{c['key']}"] = [
                    i for r in rows if isinstance(r, dict) for i in ids(at(r, c["key"]))]
    return {k: v for k, v in found.items() if v}


def save_draft(engine, unit: Unit, task_id: str, data) -> dict:
    row = task_row(unit.conn, task_id)
    _require_open(row)
    cleaned = validate(engine, unit.conn, row, data, partial=True)
    unit.conn.execute(update(tasks).where(tasks.c.id == task_id).values(draft=cleaned))
    return cleaned


def complete(engine, unit: Unit, task_id: str, data) -> runner.Handle:
    row = _TASK_AND_INSTANCE.first(unit.conn, {"task_id": task_id})
    if row is None:
        raise NotFound(_("任务不存在: {task_id}").format(task_id=task_id))
    _require_open(row)
    cleaned = validate(engine, unit.conn, row, data)
    handle = load_handle(engine, unit, row.instance_id, _InstanceRow(row))
    task = find_task(handle.wf, task_id)
    if task is None or not task.has_state(TaskState.READY):
        raise Conflict(_("任务已不在办理状态"))
    form = engine.form_by_id(unit.conn, row.form_id) if row.form_id else None
    if form is not None:
        attachment_store.mark_used(unit.conn, [i for ids in attachment_refs(form, cleaned).values()
                                               for i in ids])
    before = dict(task.data)
    task.set_data(**cleaned)
    changed = {k: {"from": before.get(k), "to": v} for k, v in cleaned.items()
               if before.get(k) != v}
    unit.record("task.completed", handle.id, task_id, element_id=row.element_id,
                name=row.name, data=cleaned, changed=changed)
    try:
        task.run()
    except Exception as exc:   # e.g. a failing post-script on the task itself
        runner.open_incident(unit, handle, exc)
    else:
        runner.advance(engine, unit, handle)
    runner.persist(engine, unit, handle)
    return handle
