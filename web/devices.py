"""Devices with their last-seen state, and the limits their readings are held to."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, insert, select

from processes import access
from processes.schema import devices, projects, thresholds

from .auth import authenticated, current, roles
from .device_schemas import DeviceQuery, DeviceSchema, ThresholdSchema
from .ext import services

blp = Blueprint("devices", __name__, url_prefix="/api/v1",
                description="监测设备与阈值 (devices and thresholds)")


@blp.route("/devices")
class Devices(MethodView):
    @blp.arguments(DeviceQuery, location="query")
    @blp.response(200, DeviceSchema(many=True))
    @blp.paginate()
    @authenticated
    def get(self, args, pagination_parameters):
        """我可见项目的设备及最近上报 (devices of the caller's projects, last seen)"""
        visible = select(projects.c.code).where(access.project_clause(current()))
        stmt = select(devices).where(devices.c.project_code.in_(visible))
        for key in ("project_code", "device_type", "state"):
            if args.get(key):
                stmt = stmt.where(devices.c[key] == args[key])
        with services().db.read() as conn:
            pagination_parameters.item_count = conn.execute(
                select(func.count()).select_from(stmt.subquery())).scalar()
            rows = conn.execute(stmt.order_by(devices.c.project_code, devices.c.id)
                                .limit(pagination_parameters.page_size)
                                .offset(pagination_parameters.first_item)).all()
        return [dict(r._mapping) for r in rows]


@blp.route("/thresholds")
class Thresholds(MethodView):
    @blp.response(200, ThresholdSchema(many=True))
    @roles("admin", "designer", "inspector", "leader", "auditor", "gateway")
    def get(self):
        """告警阈值: 全市默认值及项目、测点的覆盖值 (limits: defaults and overrides)"""
        with services().db.read() as conn:
            rows = conn.execute(select(thresholds).order_by(
                thresholds.c.device_type, thresholds.c.metric, thresholds.c.id)).all()
        return [dict(r._mapping) for r in rows]

    @blp.arguments(ThresholdSchema)
    @blp.response(201, ThresholdSchema)
    @roles("admin", "designer")
    def post(self, body):
        """新增阈值 (a project or a monitoring point overrides the city's limit of a metric)"""
        with services().unit(current().username) as unit:
            if body.get("project_code") and unit.conn.execute(select(projects.c.code).where(
                    projects.c.code == body["project_code"])).first() is None:
                abort(422, message="项目不存在 (unknown project)",
                      errors={"project_code": ["项目不存在"]})
            row_id = unit.conn.execute(insert(thresholds).values(**body)
                                       .returning(thresholds.c.id)).scalar_one()
            unit.record("threshold.added", None, None, id=row_id, **body)
        return {"id": row_id, **body}
