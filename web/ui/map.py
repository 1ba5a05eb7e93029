"""一张图: every site on Foshan's district map (offline GeoJSON), from GET /api/v1/projects/map."""
from __future__ import annotations

from flask import Blueprint, render_template

from processes.demo import DISTRICTS

from .common import me, page

bp = Blueprint("ui_map", __name__)


@bp.get("/map")
@page("page.map")
def site_map():
    user = me()
    districts = [user.district] if user.district and user.role != "admin" else list(DISTRICTS)
    return render_template("map.html", districts=districts)
