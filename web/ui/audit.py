"""审计追溯: search form, results, chain check and CSV export; data from /api/v1/audit."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import page

bp = Blueprint("ui_audit", __name__)


@bp.get("/audit")
@page("audit.search")
def audit():
    return render_template("audit.html")
