"""审计 (audit): search the hash-chained trail, check the chain, export a search as CSV."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Iterator

from flask import Response, current_app, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from engine.clock import utcnow
from processes.actors import actor_name, people_names
from processes.audit_search import (CHINA, AuditFilter, day_start, iter_events, search,
                                    upper_bound, verify_chain)

from .auth import allow, current
from .ext import services
from .paging import Listing, paged
from .schemas import HistoryEventSchema, Strict
from engine.i18n import _

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计 (audit trail)")


class DayOrTime(fields.Field):
    """`2026-12-01` (a day in China time) or an ISO 8601 date-time."""

    default_error_messages = {"invalid": _("日期格式无效, 应为 YYYY-MM-DD 或 ISO 8601 时间")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise self.make_error("invalid") from exc


class AuditQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    business_key = fields.String(validate=validate.Length(1, 200),
                                 metadata={"description": "项目编号 (business key or scope)"})
    actor = fields.String(validate=validate.Length(1, 100))
    process_key = fields.String(validate=validate.Length(1, 200))
    kind = fields.String(validate=validate.Length(1, 40),
                         metadata={"description": "事件类型; 以 . 或 * 结尾按前缀匹配"})
    instance_id = fields.String(validate=validate.Length(1, 36))
    date_from = DayOrTime(data_key="from", metadata={"description": "起 (含), 日期按北京时间"})
    date_to = DayOrTime(data_key="to", metadata={"description": "止 (含当日)"})
    order = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))

    @validates_schema
    def _range(self, data, **kwargs):
        if "date_from" in data and "date_to" in data and \
                day_start(data["date_from"]) >= upper_bound(data["date_to"]):
            raise ValidationError(_("起始时间不能晚于结束时间"), "from")


class AuditEventSchema(HistoryEventSchema):
    process_key = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)


class AuditVerifySchema(Strict):
    ok = fields.Boolean()
    count = fields.Integer(metadata={"description": "已校验的事件数"})
    first_bad_seq = fields.Integer(allow_none=True)
    message = fields.String()


def _filter(query: dict) -> AuditFilter:
    return AuditFilter(
        business_key=query.get("business_key"), actor=query.get("actor"),
        process_key=query.get("process_key"), kind=query.get("kind"),
        instance_id=query.get("instance_id"),
        since=day_start(query["date_from"]) if "date_from" in query else None,
        until=upper_bound(query["date_to"]) if "date_to" in query else None,
        descending=query["order"] == "desc")


@blp.route("/audit")
class AuditSearch(MethodView):
    @paged(blp, AuditEventSchema, "audit.search", AuditQuery)
    def get(self, query):
        """审计检索 (events by project, actor, process, kind and date range; newest first)"""
        principal, filt = current(), _filter(query)

        def fetch(offset: int, limit: int):
            with services().db.read() as conn:
                total, rows = search(conn, principal, filt, offset, limit)
                names = people_names(conn, [r["actor"] for r in rows])
            # who, as people read it (the user name stays in `actor` for the auditor)
            return total, [{**r, "actor_name": actor_name(r["actor"], names)} for r in rows]
        return Listing(fetch, lambda row: row)


@blp.route("/audit/verify")
class AuditVerify(MethodView):
    @blp.response(200, AuditVerifySchema)
    @allow("audit.verify")
    def get(self):
        """校验审计链 (recompute every hash, as `flask verify-audit` does)"""
        engine = services()
        with engine.db.read() as conn:
            return verify_chain(conn, engine.audit_key,
                                current_app.extensions["jianguan.settings"].anchor_dir)


CSV_COLUMNS = ("序号", "时间(北京时间)", "操作人", "事件类型", "流程", "项目编号", "流程实例",
               "任务", "详情", "前序哈希", "哈希")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # Excel runs a cell starting with = + - @ as a formula: user text must stay text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(rows: Iterator[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")           # the BOM makes Excel read the file as UTF-8
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        at = r["at"].astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow([r["seq"], at] + [_cell(v) for v in (
            r["actor"], r["kind"], r["process_key"], r["business_key"], r["instance_id"],
            r["task_id"], json.dumps(r["details"], ensure_ascii=False, sort_keys=True),
            r["prev_hash"], r["hash"])])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@blp.route("/audit.csv")
class AuditCsv(MethodView):
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, content_type="text/csv",
                  description="UTF-8 (带 BOM) 的 CSV, Excel 可直接打开")
    @allow("audit.export")
    def get(self, query):
        """导出审计检索结果 (the same search as /audit, every matching event, as CSV)"""
        principal, filt = current(), _filter(query)
        engine = services()

        def generate():
            with engine.db.read() as conn:
                yield from _csv_lines(iter_events(conn, principal, filt))

        stamp = utcnow().astimezone(CHINA).strftime("%Y%m%d-%H%M%S")
        return Response(stream_with_context(generate()), mimetype="text/csv",
                        headers={"Content-Disposition":
                                 f'attachment; filename="audit-{stamp}.csv"',
                                 "Cache-Control": "no-store"})
