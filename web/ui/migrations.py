"""实例迁移: both versions' diagrams side by side, the element mapping, the dry run and the
batch's progress, over /api/v1/migrations."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import page

bp = Blueprint("ui_migrations", __name__)


@bp.get("/migrations")
@page("page.migrations")
def migrations():
    return render_template("migrations.html")
