"""Sign-in, sign-out and the home page that sends each role to its work."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request

from processes import policy
from processes.demo import DEMO_PASSWORD, demo_users_present
from processes.people import authenticate

from ..auth import csrf_valid, sign_in, sign_out
from ..ext import services
from ..throttle import client_address, message as throttle_message, throttle
from .common import error_page, home_of, me, safe_next

bp = Blueprint("ui_session", __name__)


@bp.get("/")
def home():
    user = me()
    return redirect(home_of(user) if user else "/login")


def _login_page(status: int = 200, **values):
    values.setdefault("next", "")
    values.setdefault("username", "")
    values.setdefault("error", None)
    with services().db.read() as conn:
        demo = demo_users_present(conn)
    return render_template("login.html", demo_password=DEMO_PASSWORD if demo else None,
                           **values), status


@bp.get("/login")
def login_form():
    user = me()
    if user is not None and not request.args.get("next"):
        return redirect(home_of(user))
    return _login_page(next=safe_next(request.args.get("next")) or "")


@bp.post("/login")
def login():
    username = (request.form.get("username") or "").strip()
    target = safe_next(request.form.get("next")) or ""
    if not csrf_valid(request.form.get("csrf_token")):
        # an expired page or a form posted from another site: show a fresh form, never sign in
        return _login_page(400, next=target, username=username, error="页面已过期, 请重新登录。")
    password = request.form.get("password") or ""
    limiter, address = throttle(), client_address()
    wait = limiter.attempt(username, address)
    if wait:
        body, status = _login_page(429, next=target, username=username,
                                   error=throttle_message(wait))
        return body, status, {"Retry-After": str(wait)}
    principal = None
    if username and password and len(username) <= 100 and len(password) <= 200:
        with services().db.read() as conn:
            principal = authenticate(conn, username, password)
    if principal is None:
        limiter.failed(address)
        return _login_page(401, next=target, username=username, error="用户名或密码错误。")
    limiter.succeeded(username)
    if not policy.allows(principal, "page.sign_in"):
        return _login_page(403, username=username, error="设备网关账号不能登录网页。")
    sign_in(principal)
    return redirect(target or home_of(principal))


@bp.post("/logout")
def logout():
    if not csrf_valid(request.form.get("csrf_token")):
        return error_page(400, "页面已过期, 请刷新后再退出。")
    sign_out()
    return redirect("/login")


@bp.get("/logout")
def logout_get():
    # signing out changes state: only by POST (a link or image elsewhere cannot sign you out)
    abort(405)
