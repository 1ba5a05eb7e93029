"""项目一页通: everything about one site, from GET /api/v1/projects/{code}/overview."""
from __future__ import annotations

from flask import Blueprint, render_template

from processes import policy

from .common import load, me, page

bp = Blueprint("ui_project", __name__)


@bp.get("/projects/<string:code>")
@page("page.project")
def project(code: str):
    # a typed URL of another enterprise's site is refused before any data is sent
    row, refusal = load("project.read", code)
    if refusal is not None:
        return refusal
    return render_template("project.html", project=row,
                           can_map=policy.allows(me(), "page.map"))
