"""Every error under /api is JSON in one shape: {code, status, message, errors}."""
from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from sqlalchemy.exc import DataError

from engine.errors import EngineError
from engine.i18n import _

log = logging.getLogger(__name__)
LOCATIONS = ("json", "query", "form", "files", "headers", "path", "view_args")


def body(code: int, message: str, errors: dict | None = None):
    response = jsonify({"code": code, "status": HTTPStatus(code).phrase, "message": message,
                        "errors": errors or {}})
    response.status_code = code
    return response


def flatten(errors: dict) -> dict:
    """webargs nests field errors under their location; the contract keys them by field."""
    if not isinstance(errors, dict):
        return {"_schema": errors}
    flat = {}
    for key, value in errors.items():
        if key in LOCATIONS and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


MESSAGES_CN = {
    400: _("请求无效"), 401: _("未登录或登录已过期"), 403: _("无权执行此操作"), 404: _("资源不存在"),
    405: _("不支持的请求方法"), 409: _("状态冲突"), 413: _("请求体过大"), 415: _("不支持的内容类型"),
    422: _("提交的数据有误"), 429: _("请求过于频繁"), 500: _("服务器内部错误"),
}


def register(app: Flask) -> None:
    from . import inputs

    @app.before_request
    def _refuse_bad_input():
        # before the policy check and any parser: a deep or malformed body never reaches one
        if not request.path.startswith("/static/"):
            inputs.check_request()

    @app.errorhandler(inputs.BadInput)
    def _bad_input(exc: inputs.BadInput):
        if not request.path.startswith("/api"):          # a page: plain text, still Chinese
            return Response(exc.message, status=exc.status, mimetype="text/plain")
        message = _("提交的数据有误") if exc.status == 422 else exc.message
        return body(exc.status, message, {exc.field: [exc.message]})

    @app.errorhandler(OverflowError)
    def _overflow(exc: OverflowError):
        # a number too large for the database (a page, a version): the input, not the server
        return body(422, _("数值超出范围"), {})

    @app.errorhandler(EngineError)
    def _engine_error(exc: EngineError):
        return body(exc.status, exc.message, exc.errors)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not request.path.startswith("/api"):
            return exc
        data = getattr(exc, "data", None) or {}
        errors = flatten(data.get("messages") or data.get("errors") or {}) if data else {}
        if errors.get("json") == ["Invalid JSON body."]:
            errors = {"json": [_("请求体不是有效的 JSON")]}
        message = data.get("message") or MESSAGES_CN.get(exc.code, exc.name)
        if exc.code == 422 and errors:
            message = _("提交的数据有误")
        return body(exc.code or 500, message, errors)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        if isinstance(exc, DataError) and request.path.startswith("/api"):
            # the database refused a value as given (out of its type's range, NUL in text)
            log.warning("data refused by the database on %s %s: %s", request.method,
                        request.path, str(exc.orig)[:200])
            return body(422, _("数据超出允许范围或含非法字符"))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return body(500, _("服务器内部错误, 已记录"))
