"""我的待办: the shell of the inbox; the list itself comes from GET /api/v1/tasks."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import page

bp = Blueprint("ui_inbox", __name__)


@bp.get("/inbox")
@page("page.inbox")
def inbox():
    return render_template("inbox.html")
