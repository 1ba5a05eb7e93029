"""监管驾驶舱 (总控端): charts of GET /api/v1/dashboard, refreshed in the page."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import page

bp = Blueprint("ui_dashboard", __name__)


@bp.get("/dashboard")
@page("dashboard.read")
def dashboard():
    return render_template("dashboard.html")
