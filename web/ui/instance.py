"""Process instances: the list (with starting a new one) and one instance's page."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import page, showing

bp = Blueprint("ui_instance", __name__)


@bp.get("/instances")
@page("page.instances")
def instances():
    return render_template("instances.html")


@bp.get("/instances/<string:instance_id>")
@page()
@showing("instance.read")
def instance(row):
    return render_template("instance.html", instance_id=row.id, process_key=row.process_key,
                           business_key=row.business_key or "")
