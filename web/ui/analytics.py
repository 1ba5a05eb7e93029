"""流程分析: a heat map of step durations on the diagram, ranked lists and Excel exports, over
/api/v1/analytics."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import page

bp = Blueprint("ui_analytics", __name__)


@bp.get("/analytics")
@page("page.analytics")
def analytics():
    return render_template("analytics.html")
