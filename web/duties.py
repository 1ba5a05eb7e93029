"""履职 (duties): compliance per inspector and district, read from the duty processes' tasks.

The duty instances themselves are started by engine.schedules through `duty.targets`
(processes/duties.py)."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from engine.clock import utcnow
from processes.duties import compliance

from .auth import current, roles
from .ext import services


blp = Blueprint("duties", __name__, url_prefix="/api/v1/duties", description="履职 (duties)")


@blp.route("/compliance")
class Compliance(MethodView):
    @roles("admin", "leader", "inspector", "auditor")
    def get(self):
        """履职情况 (per inspector and district: done on time, overdue, open, rate)"""
        principal = current()
        district = request.args.get("district") or None
        if principal.role != "admin" and principal.district is not None:
            if district not in (None, principal.district):
                abort(403, message="只能查看本辖区的履职情况 (other district)")
            district = principal.district
        now = utcnow()
        inspector = principal.username if principal.role == "inspector" else None
        with services().db.read() as conn:
            out = compliance(conn, now, district, inspector)
        return {"district": district, "as_of": now.isoformat(), "items": out}
