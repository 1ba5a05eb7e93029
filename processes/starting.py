"""A person's start of a process: the records its start form names must exist.

The start form (form-js, bound to the process's none start event) checks the shape of what a
person enters; here the domain checks what it refers to: the project (its code doubles as the
business key) and, for a crane filing, a crane registered to that project. Errors come back
per field, in Chinese, before anything is started.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.errors import Invalid
from forms.definition import form_fields

from .schema import cranes, projects
from engine.i18n import _


def _field_keys(form: dict | None) -> set[str]:
    return {f["key"] for f in form_fields(form)} if form else set()


def prepare(conn, form: dict | None, business_key: str | None,
            variables: dict | None) -> tuple[str | None, dict]:
    """(business key, variables) for the start: the project code is taken from the business key
    when the form asks for it and the caller gave only the key, and the other way round."""
    variables = dict(variables or {}) if isinstance(variables, dict) else variables
    keys = _field_keys(form)
    if not isinstance(variables, dict) or "project_code" not in keys:
        return business_key, variables
    if business_key and variables.get("project_code") in (None, ""):
        variables["project_code"] = business_key
    code = variables.get("project_code")
    if not isinstance(code, str) or not code.strip():
        return business_key, variables        # the start form says "required"
    errors: dict[str, list[str]] = {}
    if business_key and business_key != code:
        errors["project_code"] = [_("与业务键 {business_key} 不一致").format(business_key=business_key)]
    elif conn.execute(select(projects.c.code).where(projects.c.code == code)).first() is None:
        errors["project_code"] = [_("工程项目 {value} 不存在").format(value=code[:60])]
    crane = variables.get("crane_id")
    if "crane_id" in keys and isinstance(crane, str) and crane.strip() and not errors:
        row = conn.execute(select(cranes.c.project_code).where(cranes.c.id == crane)).first()
        if row is None:
            errors["crane_id"] = [_("起重机械 {value} 未登记").format(value=crane[:60])]
        elif row.project_code != code:
            errors["crane_id"] = [_("起重机械 {value} 不属于该工程").format(value=crane[:60])]
    if errors:
        raise Invalid(_("启动表单校验未通过"), errors)
    return business_key or code, variables
