"""One task: its form, attachments, the instance's diagram and history.

The page checks access on the server with the API's own rules before it sends anything, so a
URL of another enterprise's task answers 403 (or 404) as a page; the data then come from the
API, which checks again."""
from __future__ import annotations

from flask import Blueprint, make_response, render_template

from engine.attachments import MAX_BYTES
from processes import policy

from .common import page, showing

bp = Blueprint("ui_task", __name__)


@bp.get("/tasks/<string:task_id>")
@page()
@showing("task.read")
def task(row):
    can_act = policy.acts_on(row)
    response = make_response(render_template(
        "task.html", task_id=row.id, instance_id=row.instance_id, task_name=row.name,
        can_act=can_act and row.state == "open", max_upload=MAX_BYTES))
    # back/forward after submitting must not show the old page with an active submit button
    # from the cache (task.js also reloads a page restored from the back/forward cache)
    response.headers["Cache-Control"] = "no-store"
    return response
