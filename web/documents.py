"""Issued documents: the PDF for those who may see its instance, corrections by inspectors,
and the public verification of a code printed on paper."""
from __future__ import annotations

import functools

from flask import Blueprint as PageBlueprint
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from werkzeug.sansio.utils import get_current_url

from integrations import pdf
from processes import corrections
from processes import documents as docs
from processes import policy
from processes.schema import documents

from .auth import allow, current
from .ext import services
from .schemas import DocumentSchema
from engine.i18n import _

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="文书 (documents)")
pages = PageBlueprint("document_pages", __name__)


class CorrectSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))
    changes = fields.Dict(keys=fields.String(validate=validate.Length(1, 100)),
                          load_default=dict, validate=validate.Length(max=corrections.MAX_CHANGES),
                          metadata={"description": "只能更正文书所用表单中的可填字段, 由同一表单校验; "
                                    "project_code 等标识字段不可更正"})


class VerifySchema(Schema):
    valid = fields.Boolean()
    code = fields.String()
    number = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    authority = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)
    superseded_by = fields.String(allow_none=True)
    message = fields.String()


@blp.route("/documents/<string:document_id>")
class DocumentFile(MethodView):
    @blp.doc(responses={"200": {"description": "PDF", "content": {"application/pdf": {}}}})
    @allow("document.read")
    def get(self, document_id):
        """文书 PDF (the issued file, to those who may see the instance)"""
        with services().db.read() as conn:
            row = policy.load(conn, current(), "document.read", document_id)
            data = docs.pdf_of(conn, row.id) if row.status == "generated" else None
        if data is None:
            state = {"requested": "正在生成", "failed": "生成失败, 等待重试"}.get(row.status,
                                                                               row.status)
            abort(409, message=_("文书 {number} 尚未出具: {state}: {status}").format(
                                   number=row.number, state=state, status=row.status))
        response = Response(data, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{row.number}.pdf"'
        response.headers["ETag"] = f'"{row.sha256}"'
        response.headers["X-Content-SHA256"] = row.sha256
        response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
        return response


@blp.route("/documents/<string:document_id>/correct")
class DocumentCorrection(MethodView):
    @blp.arguments(CorrectSchema)
    @blp.response(201, DocumentSchema)
    @blp.alt_response(409, description="尚未出具或已被更正 (not issued, or corrected already)")
    @blp.alt_response(422, description="更正字段不属于文书表单、未通过表单校验或为标识字段 (by field)")
    @blp.alt_response(503, description="文书生成失败, 未作任何更改 (rendering failed)")
    @allow("document.correct")
    def post(self, body, document_id):
        """更正文书 (a new document replacing an issued one, issued at once; the original never
        changes)"""
        engine = services()
        with engine.unit(current().username) as unit:
            row = policy.load(unit.conn, current(), "document.correct", document_id)
            created = docs.correct(unit, document_id, body["changes"], body["reason"],
                                   corrections.forms_of(engine, unit.conn, row))
            row = unit.conn.execute(select(documents)
                                    .where(documents.c.id == created["id"])).first()
        return dict(row._mapping)


def verification(code: str) -> dict:
    with services().db.read() as conn:
        row = docs.find_by_code(conn, code)
        if row is None or row.status != "generated":
            return {"valid": False, "code": code,
                    "message": _("未找到与该验证码对应的文书, 请注意防伪")}
        successor = docs.successor_of(conn, row.id)
    result = {"valid": True, "code": row.verify_code, "number": row.number, "title": row.title,
              "issued_at": row.created_at, "authority": docs.issuer().authority,
              "sha256": row.sha256, "superseded_by": successor.number if successor else None,
              "message": _("该文书真实有效")}
    if successor:
        result["message"] = (_("该文书真实, 但已被第 {number} 号文书更正替代").format(number=successor.number))
    return result


@blp.route("/verify/<string:code>")
class Verify(MethodView):
    @blp.response(200, VerifySchema)
    @allow("document.verify")
    def get(self, code):
        """验证文书 (public: whether a printed code belongs to a genuine document)"""
        result = verification(code)
        if not result["valid"]:
            abort(404, message=result["message"])
        return result


@pages.before_app_request
def _learn_public_url() -> None:
    # the QR codes of documents rendered in this process point to where people reach us
    docs.learn_public_url(_host_url(request.scheme, request.host))


@functools.lru_cache(maxsize=64)
def _host_url(scheme: str, host: str) -> str:
    # request.host_url, built once per host: it was a visible part of every API call
    return get_current_url(scheme, host)


@pages.get("/verify/<string:code>")
def verify_page(code: str):
    """The page the QR code opens: public, in Chinese, no login."""
    result = verification(code)
    html = pdf.render_page("verify.html", {"r": result, "issued_on": pdf.chinese_date(
        result.get("issued_at"))})
    return Response(html, status=200 if result["valid"] else 404, mimetype="text/html")
