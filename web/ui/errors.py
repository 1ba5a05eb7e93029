"""Chinese HTML error pages for everything outside /api; the API keeps its JSON errors.

web/errors.py registers the JSON handlers for HTTPException and Exception on the app. We wrap
those two handlers instead of adding code-specific ones, so that whatever the API answers
(and however it changes) still answers under /api, and only other paths get a page.
"""
from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from .common import error_page

log = logging.getLogger(__name__)

MESSAGES = {
    400: "请求无效, 请检查后重试。",
    401: "请先登录。",
    403: "您无权访问此页面。",
    404: "您访问的页面不存在, 请检查网址。",
    405: "不支持该请求方式。",
    413: "上传的文件过大。",
    500: "服务器出错了, 错误已记录, 请稍后重试。",
}


def _api_handler(app: Flask, exc_class: type):
    return app.error_handler_spec.get(None, {}).get(None, {}).get(exc_class)


def _is_api() -> bool:
    return request.path.startswith("/api")


def register(app: Flask) -> None:
    json_http = _api_handler(app, HTTPException)
    json_any = _api_handler(app, Exception)

    def http_error(exc: HTTPException):
        if _is_api():
            return json_http(exc) if json_http else exc
        if exc.code is None or exc.code < 400 or exc.code in (401,):
            return exc
        try:
            return error_page(exc.code, MESSAGES.get(exc.code, exc.description or ""))
        except Exception:  # noqa: BLE001  an error page must not fail into a traceback
            log.exception("error page for %s failed", exc.code)
            return exc

    def any_error(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        if _is_api() and json_any:
            return json_any(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            return error_page(500, MESSAGES[500])
        except Exception:  # noqa: BLE001
            return "服务器内部错误", 500

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, any_error)
