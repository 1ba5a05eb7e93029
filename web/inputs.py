"""Requests refused before any handler reads them, with a clear 400 in Chinese instead of an
error deep inside: JSON nested deeper than MAX_DEPTH (the parser would raise RecursionError),
integers longer than Python converts (4,300 digits), NaN / Infinity / numbers beyond a double
(1e999999), and NUL characters in text (PostgreSQL refuses them in text columns) in the
query, the path, form fields, file names or JSON strings. File contents may hold any byte."""
from __future__ import annotations

import json
import math
import re

from flask import request
from engine.i18n import _

MAX_DEPTH = 64
# device payloads keep their own decoding (processes.device_payloads): what they refuse becomes
# a dead letter with its reason, which an early 400 here would lose
RAW_BODIES = ("/api/v1/alarms", "/api/v1/telemetry")
# a JSON string escape of NUL not itself escaped (\\u0000 is a backslash and "u0000")
_NUL_ESCAPE = re.compile(r'(?<!\\)(?:\\\\)*\\u0000')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class BadInput(ValueError):
    """What is wrong with a request, in Chinese first; `field` names where; 400 for a body
    that cannot be read, 422 for a value in it (keyed by its field, as the forms key theirs)."""

    def __init__(self, message: str, field: str = "json", status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


SPECIAL = _("不允许 NaN、无穷大或超出范围的数值")


class _Special:
    """NaN, Infinity or a number beyond a double (1e999999), kept until its field is known."""


def _float(text: str):
    value = float(text)
    return value if math.isfinite(value) else _Special()


def _holds_special(value) -> bool:
    # objects inside were checked by their own hook (innermost first): only lists to look into
    return isinstance(value, _Special) or (
        isinstance(value, list) and any(_holds_special(v) for v in value))


def _pairs(pairs):
    for key, value in pairs:
        if _holds_special(value):
            raise BadInput(SPECIAL, str(key)[:100], 422)
    return dict(pairs)


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects, strings left out."""
    depth = deepest = 0
    for ch in _NOT_BRACKET.sub("", _STRING.sub('""', text)):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def loads(text: str | bytes, malformed: bool = True):
    """json.loads for untrusted bodies: BadInput instead of RecursionError, ValueError of an
    over-long integer, NaN, Infinity or an overflowing float; `malformed=False`: None for a
    body that is simply not JSON (the handler's parser answers that one as before)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(_("请求体不是有效的 UTF-8")) from None
    # counting brackets is cheap; the exact scan only for bodies that could be that deep
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise BadInput(_("JSON 嵌套超过 {MAX_DEPTH} 层").format(MAX_DEPTH=MAX_DEPTH))
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise BadInput(_("文本中不允许空字符 \\u0000"))
    try:
        data = json.loads(text, parse_constant=lambda name: _Special(),
                          parse_float=_float, object_pairs_hook=_pairs)
    except BadInput:
        raise
    except RecursionError:
        raise BadInput(_("JSON 嵌套超过 {MAX_DEPTH} 层").format(MAX_DEPTH=MAX_DEPTH)) from None
    except ValueError as exc:
        if "digits" in str(exc):
            raise BadInput(_("整数位数过多")) from None
        if not malformed:
            return None
        raise BadInput(_("请求体不是有效的 JSON: {value}").format(value=str(exc)[:200])) from None
    if _holds_special(data):
        raise BadInput(SPECIAL, "json", 422)
    return data


def _has_nul(values) -> str | None:
    for key, value in values:
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            return key.replace("\x00", "")
    return None


def check_request() -> None:
    """Raise BadInput for a request no handler should see (see the module's text)."""
    where = _has_nul(request.args.items(multi=True))
    if where is not None:
        raise BadInput(_("查询参数中不允许空字符"), where or "query")
    where = _has_nul((request.view_args or {}).items())
    if where is not None:
        raise BadInput(_("路径中不允许空字符"), where or "path")
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    mimetype = request.mimetype or ""
    if (mimetype == "application/json" or mimetype.endswith("+json")) and \
            request.path not in RAW_BODIES:
        data = request.get_data(cache=True)
        if data.strip():
            loads(data, malformed=False)
    elif mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        where = _has_nul(request.form.items(multi=True))
        if where is not None:
            raise BadInput(_("表单字段中不允许空字符"), where or "form")
        for field, upload in request.files.items(multi=True):
            name = upload.filename or ""
            if "\x00" in name or any(ord(ch) < 32 for ch in name):
                raise BadInput(_("文件名中不允许空字符或控制字符"), field)
