"""Devices with their last-seen state, and the limits their readings are held to."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from processes import device_records, thresholds

from .auth import allow, current
from .device_schemas import DeviceQuery, DeviceSchema, ThresholdSchema
from .ext import services
from .paging import paged, query

blp = Blueprint("devices", __name__, url_prefix="/api/v1",
                description="监测设备与阈值 (devices and thresholds)")


@blp.route("/devices")
class Devices(MethodView):
    @paged(blp, DeviceSchema, "device.list", DeviceQuery)
    def get(self, args):
        """我可见项目的设备及最近上报 (devices of the caller's projects, last seen)"""
        return query(device_records.devices_listing(current(), **args))


@blp.route("/thresholds")
class Thresholds(MethodView):
    @blp.response(200, ThresholdSchema(many=True))
    @allow("threshold.list")
    def get(self):
        """告警阈值: 全市默认值及项目、测点的覆盖值 (limits: defaults and overrides)"""
        with services().db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(thresholds.listing(current()))]

    @blp.arguments(ThresholdSchema)
    @blp.response(201, ThresholdSchema)
    @allow("threshold.add")
    def post(self, body):
        """新增阈值 (a project or a monitoring point overrides the city's limit of a metric)"""
        with services().unit(current().username) as unit:
            return thresholds.add(unit, body)
