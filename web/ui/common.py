"""What every page shares: the signed-in user, the navigation by role, access checks that
answer with a Chinese HTML page, and the template folder (web/templates)."""
from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import quote, urlsplit

from flask import Blueprint, g, redirect, render_template, request

from engine.errors import EngineError
from processes import policy
from processes.people import Principal

from ..auth import csrf_token, session_principal
from ..ext import services

# Only the template folder and the context processor: the page routes live in their modules.
shared = Blueprint("ui", __name__, template_folder="../templates")


def home_of(principal: Principal) -> str:
    return policy.home_of(principal)


def me() -> Principal | None:
    """The signed-in browser user of this request (looked up once)."""
    if "page_user" not in g:
        g.page_user = session_principal()
    return g.page_user


@shared.app_context_processor
def _page_context() -> dict:
    # Only for HTML pages; the API never renders templates.
    user = me() if not request.path.startswith("/api/") else None
    return {"me": user, "nav": policy.nav_for(user), "csrf_token": csrf_token,
            "role_name": policy.role_name(user.role) if user else "",
            "active_path": request.path}


def safe_next(target: str | None) -> str | None:
    """A path of this site to return to after sign-in; anything else is dropped.

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so "/<TAB>/host"
    or "/<BACKSLASH>host" would become "//host", another site: any control character, space or
    backslash refuses the target, and what is left must parse with neither scheme nor host."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if any(ch <= " " or ch in "\\\x7f" for ch in target) or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def error_page(code: int, message: str, title: str | None = None):
    titles = {403: "无权访问", 404: "页面不存在", 500: "服务器内部错误", 405: "不支持的请求方法",
              400: "请求无效", 401: "请先登录", 409: "状态冲突", 413: "文件过大"}
    html = render_template("error.html", code=code, title=title or titles.get(code, "出错了"),
                           message=message)
    return html, code


def page(action: str | None = None) -> Callable:
    """A page for signed-in users whose role the policy lets take `action` (any signed-in
    user without one); others go to the sign-in page or get a Chinese 403 page."""
    if action is not None:
        policy.rule(action)

    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = me()
            if user is None:
                return redirect("/login?next=" + quote(request.full_path.rstrip("?"), safe="/"))
            if action is not None and not policy.allows(user, action):
                return error_page(403, f"{policy.role_name(user.role)}无权访问此页面。")
            return fn(*args, **kwargs)
        return wrapper
    return deco


PAGE_MESSAGES = {
    ("task", 404): "该任务不存在或已被删除。",
    ("task", 403): "该任务不属于您的角色或管辖范围, 无权查看。",
    ("instance", 404): "该流程实例不存在。",
    ("instance", 403): "该流程实例不在您的管辖或所属范围内, 无权查看。",
}


def load(action: str, object_id: str):
    """(row, None) for an object the page may show, else (None, an error page): the API's own
    rules (policy.load), answered as a page."""
    with services().db.read() as conn:
        try:
            return policy.load(conn, me(), action, object_id), None
        except EngineError as exc:
            kind = policy.rule(action).resource
            return None, error_page(exc.status, PAGE_MESSAGES.get((kind, exc.status),
                                                                  exc.message))


def showing(action: str) -> Callable:
    """For a page about one object, the route's one variable: the view gets the row the API's
    rules let the user see (`load`); otherwise the error page answers. Goes under `page`."""
    def deco(fn):
        @wraps(fn)
        def wrapper(**kwargs):
            (object_id,) = kwargs.values()
            row, refusal = load(action, object_id)
            return refusal if refusal is not None else fn(row)
        return wrapper
    return deco
