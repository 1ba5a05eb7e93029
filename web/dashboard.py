"""总控端 (dashboard): the figures of the bureau's overview page, in one call."""
from __future__ import annotations

from datetime import datetime

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from engine.clock import utcnow
from processes import policy
from processes.dashboard import districts, overview

from .auth import allow, current
from .ext import services
from .schemas import Strict

blp = Blueprint("dashboard", __name__, url_prefix="/api/v1/dashboard",
                description="总控端 (dashboard)")


class DashboardQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    district = fields.String(validate=validate.Length(1, 50),
                             metadata={"description": "区 (市级人员可选; 区级人员固定为本区)"})


class DashboardSchema(Strict):
    district = fields.String(allow_none=True)
    districts = fields.List(fields.String())
    as_of = fields.String()
    projects = fields.Dict(metadata={"description": "total, by_district_status[district, status, count]"})
    rectifications = fields.Dict(metadata={
        "description": "open, overdue, by_district[district, open, overdue], overdue_items"})
    alarms = fields.Dict(metadata={
        "description": "available, day, week, by_type[type, day, week], recent (last 7 days)"})
    cranes = fields.Dict(metadata={"description": "total, by_state[state, label, count], items"})
    devices = fields.Dict(metadata={
        "description": "total, offline, by_type[device_type, total, offline], offline_items"})
    duties = fields.Dict(metadata={"description": "by_district, by_inspector: done, overdue, open, rate"})


def _plain(value):
    """Nested figures carry datetimes; the API writes ISO 8601 everywhere."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@blp.route("")
class Dashboard(MethodView):
    @blp.arguments(DashboardQuery, location="query")
    @blp.response(200, DashboardSchema)
    @allow("dashboard.read")
    def get(self, query):
        """总控端数据 (projects, rectifications, alarms, cranes, devices, duties; per district)"""
        principal = current()
        district = policy.district_of(principal, query.get("district"))
        own = policy.district_of(principal, None)           # None: the whole city
        with services().db.read() as conn:
            data = overview(conn, district, utcnow(), policy.own_duties_only(principal))
            data["districts"] = [own] if own else districts(conn)
        return _plain(data)
