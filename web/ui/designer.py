"""流程设计: the bpmn-js modeler and form-js editor over the definitions API (open, validate,
deploy, compare versions)."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import page

bp = Blueprint("ui_designer", __name__)


@bp.get("/designer")
@page("page.designer")
def designer():
    return render_template("designer.html")
