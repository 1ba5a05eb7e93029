"""设备告警: live alarms, dead letters and device state, read from the alarms API."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import page

bp = Blueprint("ui_alarms", __name__)

@bp.get("/alarms")
@page("page.alarms")        # what each may see inside is the API's decision (district scope)
def alarms():
    return render_template("alarms.html")
