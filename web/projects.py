"""Projects the caller may see."""
from __future__ import annotations

from flask.views import MethodView
from flask import request
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from processes import policy
from processes.schema import projects

from .auth import allow, current
from .paging import paged, query
from .schemas import ProjectSchema
from engine.i18n import _

blp = Blueprint("projects", __name__, url_prefix="/api/v1/projects", description="工程项目 (projects)")


class ProjectWithLocationSchema(ProjectSchema):
    lng = fields.Float(allow_none=True, metadata={"description": "经度 (WGS-84)"})
    lat = fields.Float(allow_none=True, metadata={"description": "纬度 (WGS-84)"})


@blp.route("")
class Projects(MethodView):
    @paged(blp, ProjectWithLocationSchema, "project.list")
    def get(self):
        """我可见的工程项目 (projects in the caller's district or enterprise)"""
        return query(select(projects).where(policy.project_clause(current()))
                     .order_by(projects.c.code))


# -- 一张图 and the project page (processes.sites) --------------------------------------------

from engine.clock import utcnow  # noqa: E402
from processes import sites  # noqa: E402

from .ext import services  # noqa: E402


class MapQuery(Schema):
    district = fields.String(load_default=None, validate=validate.Length(max=50))
    theme = fields.String(load_default=None, validate=validate.OneOf(list(sites.THEME_NAMES)),
                          metadata={"description": ", ".join(sites.THEME_NAMES)})


class LocationSchema(Schema):
    lng = fields.Float(required=True, allow_none=True, allow_nan=False,
                       metadata={"description": "经度 (WGS-84), null 清除"})
    lat = fields.Float(required=True, allow_none=True, allow_nan=False,
                       metadata={"description": "纬度 (WGS-84), null 清除"})


@blp.route("/map")
class SiteMap(MethodView):
    @blp.arguments(MapQuery, location="query")
    @allow("map.sites")
    def get(self, args):
        """一张图: 我可见的工地及其状态 (sites, coordinates, alarms / overdue / dangerous works
        / cranes in service), by district and theme"""
        with services().db.read() as conn:
            return sites.map_sites(conn, current(), utcnow(), args["district"], args["theme"])


@blp.route("/<string:project_code>/overview")
class Overview(MethodView):
    @allow("project.read")
    def get(self, project_code):
        """项目一页通: 参建单位、流程实例、设备、塔吊、文书、告警、记分"""
        with services().db.read() as conn:
            row = policy.load(conn, current(), "project.read", project_code)
            return _iso(sites.overview(conn, current(), row, utcnow()))


def _iso(value):
    """Times as ISO 8601, as the schemas of the other endpoints write them."""
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


@blp.route("/<string:project_code>/location")
class Location(MethodView):
    @blp.doc(requestBody={"content": {"application/json": {"schema": LocationSchema}}})
    @allow("project.locate")
    def put(self, project_code):
        """设置项目坐标 (lng, lat in Foshan; both null clears them)"""
        engine = services()
        with engine.unit(current().username) as unit:
            # the project's scope first (403), then the body (422): as the policy reads
            policy.load(unit.conn, current(), "project.locate", project_code)
            try:
                body = LocationSchema().load(request.get_json(silent=True) or {})
            except ValidationError as exc:
                abort(422, message=_("提交的数据有误"), errors=exc.messages)
            result = sites.locate(unit.conn, project_code, body["lng"], body["lat"])
            unit.record("project.located", **result)
        return result
