"""履职 (duties): compliance per inspector and district, read from the duty processes' tasks.

The duty instances themselves are started by engine.schedules through `duty.targets`
(processes/duties.py)."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from engine.clock import utcnow
from processes import policy
from processes.duties import compliance

from .auth import allow, current
from .ext import services


blp = Blueprint("duties", __name__, url_prefix="/api/v1/duties", description="履职 (duties)")


class ComplianceRowSchema(Schema):
    district = fields.String(allow_none=True)
    inspector = fields.String(allow_none=True)
    duty = fields.String(metadata={"description": "履职流程 (process key)"})
    done = fields.Integer()
    overdue = fields.Integer()
    open = fields.Integer()
    rate = fields.Float(allow_none=True, metadata={"description": "done / (done + overdue)"})


class ComplianceSchema(Schema):
    district = fields.String(allow_none=True)
    as_of = fields.DateTime()
    items = fields.List(fields.Nested(ComplianceRowSchema))


@blp.route("/compliance")
class Compliance(MethodView):
    @blp.response(200, ComplianceSchema)
    @allow("duty.compliance")
    def get(self):
        """履职情况 (per inspector and district: done on time, overdue, open, rate)"""
        principal = current()
        district = policy.district_of(principal, request.args.get("district") or None)
        now = utcnow()
        with services().db.read() as conn:
            out = compliance(conn, now, district, policy.own_duties_only(principal))
        return {"district": district, "as_of": now, "items": out}
