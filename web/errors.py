"""Every error under /api is JSON in one shape: {code, status, message, errors}."""
from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

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
        log.exception("unhandled error on %s %s", request.method, request.path)
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        return body(500, _("服务器内部错误, 已记录"))
