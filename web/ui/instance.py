"""Process instances: the list (with starting a new one) and one instance's page."""
from __future__ import annotations

from flask import Blueprint, render_template

from .common import instance_access, page

bp = Blueprint("ui_instance", __name__)


@bp.get("/instances")
@page("page.instances")
def instances():
    return render_template("instances.html")


@bp.get("/instances/<string:instance_id>")
@page()
def instance(instance_id: str):
    row, refusal = instance_access(instance_id)
    if refusal is not None:
        return refusal
    return render_template("instance.html", instance_id=row.id, process_key=row.process_key,
                           business_key=row.business_key or "")
