"""Process analytics: per process and element, rankings by district, enterprise, inspector;
every list also as an Excel workbook."""
from __future__ import annotations

import io

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate, validates_schema, ValidationError

from processes import analytics, policy

from .ext import services
from .auth import allow, current
from engine.i18n import _

blp = Blueprint("analytics", __name__, url_prefix="/api/v1/analytics",
                description="流程分析 (process analytics)")

LISTS = ("processes", "elements", "district", "enterprise", "inspector")
SORTS = ("median_hours", "p90_hours", "mean_hours", "count", "overdue_rate", "rework",
         "rework_rate")
HEADERS = {"process_key": "流程", "element_id": "元素", "key": "编号", "name": "名称",
           "count": "完成数", "mean_hours": "平均(小时)", "median_hours": "中位数(小时)",
           "p90_hours": "P90(小时)", "overdue": "超期数", "overdue_rate": "超期率",
           "rework": "退回重办", "rework_rate": "退回率"}


class PeriodQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    start = fields.Date(data_key="from", load_default=None)
    end = fields.Date(data_key="to", load_default=None)
    process_key = fields.String(load_default=None)
    district = fields.String(load_default=None)
    enterprise = fields.String(load_default=None)
    inspector = fields.String(load_default=None)
    element_id = fields.String(load_default=None)
    dim = fields.String(load_default="district", validate=validate.OneOf(analytics.DIMS))
    sort = fields.String(load_default="median_hours", validate=validate.OneOf(SORTS))
    list = fields.String(load_default="processes", validate=validate.OneOf(LISTS))

    @validates_schema
    def _order(self, data, **_kw):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("开始日期不能晚于结束日期"), "from")


def _fresh() -> None:
    """Whatever ended since the last background pass is folded in first (bounded)."""
    engine = services()
    if analytics.pending(engine):
        analytics.rollup(engine, max_rows=analytics.CHUNK)


def _filter(args, district: str | None) -> tuple[str, str]:
    for dim in analytics.DIMS:
        if args.get(dim):
            return dim, args[dim]
    return ("all", "") if district is None else ("district", district)


def _list(args) -> list[dict]:
    days = analytics.period(args["start"], args["end"])
    # district staff see their district's figures only (admins and city staff: everything)
    district = policy.district_of(current(), args.get("district"))
    with services().db.engine.connect() as conn:
        if district is not None:
            analytics.check_within(
                conn, district, inspector=args.get("inspector"),
                enterprise_asked=bool(args.get("enterprise")) or args["list"] == "enterprise")
        if args["list"] == "processes":
            return analytics.process_stats(conn, days, *_filter({}, district))
        if args["list"] == "elements":
            if not args["process_key"]:
                raise ValidationError(_("请选择流程"), "process_key")
            return analytics.element_stats(conn, args["process_key"], days,
                                           *_filter(args, district))
        return analytics.ranking(conn, args["list"], days, args["process_key"],
                                 args["element_id"], args["sort"], within=district)


def _answer(args, what: str) -> dict:
    _fresh()
    days = analytics.period(args["start"], args["end"])
    try:
        items = _list({**args, "list": what})
    except ValidationError as exc:
        from flask_smorest import abort
        abort(422, message=str(exc.messages[0]) if isinstance(exc.messages, list)
              else "请求无效", errors={exc.field_name: exc.messages})
    return {"from": days[0], "to": days[1], "items": items}


@blp.route("/processes")
class Processes(MethodView):
    @allow("analytics.read")
    @blp.arguments(PeriodQuery, location="query")
    def get(self, args):
        """各流程完成数、时长 (中位数, P90)、超期率、退回重办"""
        return _answer(args, "processes")


@blp.route("/elements")
class Elements(MethodView):
    @allow("analytics.read")
    @blp.arguments(PeriodQuery, location="query")
    def get(self, args):
        """一个流程各环节的统计 (热力图); 可按 district / enterprise / inspector 过滤"""
        return _answer(args, "elements")


@blp.route("/ranking")
class Ranking(MethodView):
    @allow("analytics.read")
    @blp.arguments(PeriodQuery, location="query")
    def get(self, args):
        """按区、企业、监督员排名 (dim; sort: median_hours 最慢, rework 退回最多, ...)"""
        return _answer(args, args["dim"])


@blp.route("/export")
class Export(MethodView):
    @allow("analytics.export")
    @blp.arguments(PeriodQuery, location="query")
    def get(self, args):
        """导出 Excel (list: processes | elements | district | enterprise | inspector)"""
        from openpyxl import Workbook

        answer = _answer(args, args["list"])
        book = Workbook()
        sheet = book.active
        sheet.title = args["list"]
        sheet.append([f"统计期间 {answer['from']} 至 {answer['to']}"])
        columns = [c for c in HEADERS if any(c in item for item in answer["items"])] or \
            list(HEADERS)
        sheet.append([HEADERS[c] for c in columns])
        for item in answer["items"]:
            sheet.append([item.get(c) for c in columns])
        out = io.BytesIO()
        book.save(out)
        out.seek(0)
        return send_file(out, as_attachment=True,
                         download_name=f"analytics-{args['list']}-{answer['from']}-{answer['to']}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
