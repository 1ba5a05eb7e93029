"""What a document correction may change: the fields of the forms whose data the document
shows, cleaned by those forms (forms/schema.py, with the limits of forms/checks.py: lengths,
ranges, at most 200 rows of a list), never an identity field (the project, the instance, the
parties) that decides where the document belongs and who may read it.

The forms of a document: the start form of its instance's process, the forms of the user
tasks its instance has completed, and the form named like its kind (`rectification_notice`).
"""
from __future__ import annotations

import json

from marshmallow import ValidationError
from sqlalchemy import select

from engine.errors import Invalid
from engine.instances import start_form
from engine.schema import instances, tasks
from forms.definition import form_fields
from forms.schema import validate_submission
from engine.i18n import _

# what places a document: never changed by a correction, whatever a form declares
IDENTITY_FIELDS = frozenset({
    "project_code", "business_key", "scope_key", "instance_id", "process_key", "district",
    "builder_code", "contractor_code", "supervisor_code", "enterprise_code", "crane_id",
    "device_id", "number", "verify_code", "kind", "document_id", "replaces"})
MAX_CHANGES = 100                  # fields in one correction
MAX_CHANGES_BYTES = 256_000        # as the engine's limit on a task's data


def forms_of(engine, conn, doc) -> list[dict]:
    """The forms whose fields a correction of `doc` may change (latest versions)."""
    keys: list[str] = []
    inst = conn.execute(select(instances.c.definition_id).where(
        instances.c.id == doc.instance_id)).first()
    found: list[dict] = []
    if inst is not None:
        definition = engine.definition_by_id(conn, inst.definition_id)
        if definition is not None:
            form = start_form(engine, conn, definition, strict=False)
            if form is not None:
                found.append(form)
        keys += [k for k in conn.execute(select(tasks.c.form_key).where(
            tasks.c.instance_id == doc.instance_id, tasks.c.state == "completed",
            tasks.c.form_key.is_not(None)).distinct()).scalars()]
    keys.append(doc.kind)
    for key in dict.fromkeys(keys):
        form = engine.latest_form(conn, key)
        if form is not None:
            found.append(form)
    return found


def _correctable(form: dict) -> set[str]:
    return {f["key"].split(".")[0] for f in form_fields(form)
            if f.get("readonly") is not True and f.get("disabled") is not True}


def _required_problem(form: dict, key: str, value):
    """A required field of the form may be corrected, not emptied: the full form's verdict on
    this one field (the others are not part of the correction)."""
    try:
        validate_submission(form, {key: value})
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        return messages.get(key)
    return None


def clean(forms: list[dict], changes) -> dict:
    """The changes as the forms clean them; Invalid (422, by field, in Chinese) otherwise."""
    if not isinstance(changes, dict):
        raise Invalid(_("更正内容必须是对象"),
                      {"changes": [_("必须是对象")]})
    if len(changes) > MAX_CHANGES or len(json.dumps(
            changes, ensure_ascii=False, default=str).encode()) > MAX_CHANGES_BYTES:
        raise Invalid(_("更正内容过多"),
                      {"changes": [_("最多 {MAX_CHANGES} 个字段, 256 KB").format(MAX_CHANGES=MAX_CHANGES)]})
    errors: dict = {}
    cleaned: dict = {}
    for key, value in changes.items():
        if key in IDENTITY_FIELDS:
            errors[key] = [_("标识字段不可更正, 文书不能移至其他项目或流程")]
            continue
        owners = [form for form in forms if key in _correctable(form)]
        if not owners:
            errors[key] = [_("不是该文书表单中可填写的字段, 不可更正")]
            continue
        problem = None
        for form in owners:        # the first form that accepts the value cleans it
            try:
                result = validate_submission(form, {key: value}, partial=True)
            except ValidationError as exc:
                messages = exc.messages if isinstance(exc.messages, dict) else {}
                problem = problem or messages.get(key) or messages or [_("无效")]
                continue
            if key not in result:
                continue
            problem = _required_problem(form, key, value)
            if problem is None:
                cleaned[key] = result[key]
                break
        if key not in cleaned:
            errors[key] = problem or [_("不可更正")]
    if errors:
        raise Invalid(_("更正内容校验未通过"), errors)
    return cleaned
