"""数据导入: an admin imports a district's file: template, check, column mapping, import, report."""
from __future__ import annotations

from flask import Blueprint, render_template

from processes.importing import KINDS, MODES

from .common import page

bp = Blueprint("ui_imports", __name__)


@bp.get("/imports")
@page("page.imports")
def imports():
    return render_template("imports.html", kinds=list(KINDS.values()), modes=MODES)
