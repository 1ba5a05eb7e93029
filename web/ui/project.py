"""项目一页通: everything about one site, from GET /api/v1/projects/{code}/overview."""
from __future__ import annotations

from flask import Blueprint, render_template

from processes import policy

from .common import me, page, showing

bp = Blueprint("ui_project", __name__)


@bp.get("/projects/<string:code>")
@page("page.project")
@showing("project.read")          # a typed URL of another enterprise's site: refused, no data
def project(row):
    return render_template("project.html", project=row,
                           can_map=policy.allows(me(), "page.map"))
