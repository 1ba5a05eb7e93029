"""数据导入 (imports): templates, imports of district files, their reports (admins)."""
from __future__ import annotations

import io
import json
from urllib.parse import quote

from flask import request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from processes.importing import KINDS, MODES, OUTCOMES, run_import
from processes.importing.common import MAX_BYTES
from processes.importing.report import report_xlsx, template_xlsx
from processes.schema import import_jobs

from .auth import allow, current
from .ext import services
from .paging import paged, query
from .schemas import Strict
from engine.i18n import _

blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports",
                description="数据导入 (import from district systems)")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class KindQuery(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)),
                         metadata={"description": ", ".join(KINDS)})


class JobQuery(Schema):
    job = fields.String(required=True, validate=validate.Length(1, 36))


class ImportErrorSchema(Strict):
    row = fields.Integer()
    key = fields.String(allow_none=True)
    messages = fields.List(fields.String())


class JobSchema(Strict):
    id = fields.String()
    kind = fields.String()
    filename = fields.String()
    mode = fields.String()
    status = fields.String(metadata={"description": "done rejected checked"})
    actor = fields.String()
    created_at = fields.DateTime()
    total = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    failed = fields.Integer()
    mapping = fields.Dict()


class ImportResultSchema(JobSchema):
    errors = fields.List(fields.Nested(ImportErrorSchema))
    errors_truncated = fields.Boolean()
    headers = fields.List(fields.String())
    proposed = fields.Dict(metadata={"description": "header -> field as matched by name"})


def _download(data: bytes, name: str):
    response = send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                         download_name=name)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@blp.route("/kinds")
class Kinds(MethodView):
    @allow("import.template")
    def get(self):
        """可导入的数据类型及其字段 (kinds, fields, modes)"""
        return {"kinds": [{"name": k.name, "label": k.label, "key": k.key,
                           "fields": [{"name": f.name, "label": f.label, "required": f.required}
                                      for f in k.fields]} for k in KINDS.values()],
                "modes": MODES, "outcomes": OUTCOMES, "max_bytes": MAX_BYTES}


@blp.route("/template")
class Template(MethodView):
    @blp.arguments(KindQuery, location="query")
    @allow("import.template")
    def get(self, args):
        """下载导入模板 (xlsx: headers, and instructions on a second sheet)"""
        kind = KINDS[args["kind"]]
        return _download(template_xlsx(kind.name), f"{kind.label}导入模板.xlsx")


@blp.route("/report")
class Report(MethodView):
    @blp.arguments(JobQuery, location="query")
    @allow("import.report")
    def get(self, args):
        """下载导入报告 (xlsx: counts, and each rejected row with its reasons)"""
        with services().db.read() as conn:
            data = report_xlsx(conn, args["job"])
        return _download(data, f"导入报告-{args['job'][:8]}.xlsx")


def _form_flag(name: str) -> bool:
    return str(request.form.get(name, "")).strip().lower() in ("1", "true", "yes", "on")


def _form_mapping() -> dict | None:
    raw = request.form.get("mapping")
    if raw in (None, ""):
        return None
    try:
        mapping = json.loads(raw)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()):
        abort(422, message=_("列对应关系应为 JSON 对象 {列名: 字段}"),
              errors={"mapping": ["格式无效"]})
    return mapping


@blp.route("")
class Imports(MethodView):
    @paged(blp, JobSchema, "import.list")
    def get(self):
        """导入记录 (newest first)"""
        return query(select(*[c for c in import_jobs.c if c.name != "errors"])
                     .order_by(import_jobs.c.created_at.desc(), import_jobs.c.id))

    @blp.response(201, ImportResultSchema)
    @blp.alt_response(200, schema=ImportResultSchema, description="dry_run: 仅校验, 未导入")
    @blp.alt_response(422, description="文件无法读取或列对应关系有误 {file|mapping|kind: [...]}")
    @allow("import.run")
    def post(self):
        """导入一个文件 (multipart: kind, file, mode=all|valid, dry_run, mapping JSON)"""
        kind = request.form.get("kind", "")
        upload = request.files.get("file")
        if kind not in KINDS:
            abort(422, message=_("请选择导入类型: {value}").format(value=', '.join(KINDS)),
                  errors={"kind": ["必填, 应为 " + ", ".join(KINDS) + " 之一"]})
        if upload is None:
            abort(422, message=_("请在字段 file 中上传文件"),
                  errors={"file": [_("必填")]})
        mode = request.form.get("mode") or "all"
        data = upload.read(MAX_BYTES + 1)
        dry_run = _form_flag("dry_run")
        result = run_import(services(), kind, upload.filename or "", data, current().username,
                            mapping=_form_mapping(), mode=mode, dry_run=dry_run)
        return result, 200 if dry_run else 201
