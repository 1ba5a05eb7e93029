"""发起流程: the processes this user may start, each by its start form (form-js, bound to the
process's none start event). The form is sent to POST /api/v1/instances, which checks again."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from engine import instances as engine_instances
from engine.schema import definitions
from processes import policy

from ..ext import services
from .common import error_page, me, page

bp = Blueprint("ui_start", __name__)


def startable(conn) -> list[dict]:
    """Latest definitions that have a start form and whose start lane is this user's role."""
    engine, user = services(), me()
    latest = select(definitions.c.key, func.max(definitions.c.version).label("version")) \
        .where(definitions.c.kind == "bpmn").group_by(definitions.c.key).subquery()
    rows = conn.execute(select(definitions).join(latest, (definitions.c.key == latest.c.key) & (
        definitions.c.version == latest.c.version)).where(definitions.c.kind == "bpmn")
        .order_by(definitions.c.key)).all()
    found = []
    for row in rows:
        meta = row.meta or {}
        if meta.get("executable") is False or not policy.may_start_lane(user,
                                                                        meta.get("start_lane")):
            continue
        form = engine_instances.start_form(engine, conn, row, strict=False)
        if form is not None:
            found.append({"key": row.key, "name": row.name or row.key,
                          "form_name": form.get("name") or ""})
    return found


@bp.get("/start")
@page("page.start")
def start_list():
    with services().db.read() as conn:
        items = startable(conn)
    return render_template("start.html", items=items, key=None, name=None)


@bp.get("/start/<string:key>")
@page("page.start")
def start_one(key: str):
    with services().db.read() as conn:
        items = {i["key"]: i for i in startable(conn)}
    if key not in items:
        return error_page(404, "该流程不存在, 或您的角色不能发起该流程。")
    return render_template("start.html", items=list(items.values()), key=key,
                           name=items[key]["name"])
