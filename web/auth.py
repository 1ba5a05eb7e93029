"""Bearer tokens, the browser's session cookie, and the caller's identity.

An API call is authenticated by `Authorization: Bearer` when the header is there (unchanged),
otherwise by the signed session cookie the sign-in page sets. A cookie is sent by the browser
on its own, so a cookie-authenticated unsafe call must also prove it comes from our pages: the
`X-CSRF-Token` header equal to the session's token (a cross-site page cannot read it).

Both name a server-side session (processes/sessions.py) that every request reads: sign-out,
DELETE /api/v1/auth/token, a password change or a deactivation end it at once. Sign-in is
throttled per account and per client address (web/throttle.py).
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time

from cachetools import LRUCache

from flask import current_app, g, request, session
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import Schema, fields, validate

from engine.errors import Forbidden
from processes import policy
from processes import sessions
from processes.people import Principal, authenticate

from .errors import body as error_body
from .ext import services
from .throttle import client_address, message as throttle_message, throttle
from engine.i18n import _

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录与令牌 (auth)")
TOKEN_MAX_AGE = 12 * 3600


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 100))
    password = fields.String(required=True, validate=validate.Length(1, 200), load_only=True)


class TokenSchema(Schema):
    token = fields.String()
    username = fields.String()
    role = fields.String()
    display_name = fields.String()
    expires_in = fields.Integer()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def issue_token(principal: Principal) -> str:
    """A signed token naming a server-side session (revocable: DELETE /api/v1/auth/token)."""
    with services().db.write() as conn:
        secret = sessions.open_session(conn, principal.id, "token", TOKEN_MAX_AGE)
    return _serializer().dumps({"uid": principal.id, "sid": secret})


# Tokens whose signature was checked: (key, token) -> (session secret, signed at). Checking a
# signature again on every call of a client cost more than the rest of its authentication;
# the age is still checked on every call, and the session itself read (revocation at once).
_verified: LRUCache = LRUCache(maxsize=4096)
_verified_lock = threading.Lock()


def _token_secret(token: str) -> str | None:
    key = (current_app.config["SECRET_KEY"], token)
    with _verified_lock:
        known = _verified.get(key)
    if known is None:
        try:
            data, signed_at = _serializer().loads(token, max_age=TOKEN_MAX_AGE,
                                                  return_timestamp=True)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        known = (data["sid"], signed_at.timestamp())
        with _verified_lock:
            _verified[key] = known
    secret, signed_at = known
    if time.time() - signed_at > TOKEN_MAX_AGE:
        return None
    return secret


def principal_from_token(token: str) -> Principal | None:
    return _active(_token_secret(token), "token")


# Every call reads its session joined to the user (one look-up by primary key): a revoked
# session or a deactivated user is refused on the very next request, in every process. (The
# user row used to be kept 10 s per process; revocation "at once" rules that out.)
def _active(secret: str | None, kind: str) -> Principal | None:
    if not secret:
        return None
    with services().db.read() as conn:
        return sessions.principal_of(conn, secret, kind)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    """The session's CSRF token, created on first use (also before sign-in, for the form)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_valid(candidate: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and candidate) and hmac.compare_digest(str(candidate), expected)


def sign_in(principal: Principal) -> None:
    """Start a fresh browser session (a new id and CSRF token: no fixation of an old one)."""
    with services().db.write() as conn:
        secret = sessions.open_session(conn, principal.id, "browser", TOKEN_MAX_AGE)
    session.clear()
    session["uid"] = principal.id
    session["sid"] = secret
    session["at"] = int(time.time())
    session["csrf"] = secrets.token_urlsafe(32)


def sign_out() -> None:
    """End the server-side session too: a copy of the cookie stops working at once."""
    secret = session.get("sid")
    if secret:
        with services().db.write() as conn:
            sessions.revoke(conn, secret)
    session.clear()


def session_principal() -> Principal | None:
    """The signed-in browser user, or None; a session lives as long as a token."""
    uid, at = session.get("uid"), session.get("at")
    if uid is None or not isinstance(at, int) or time.time() - at > TOKEN_MAX_AGE:
        return None
    principal = _active(session.get("sid"), "browser")
    return principal if principal is not None and principal.id == uid else None


def current() -> Principal:
    """The authenticated caller; 401 when there is none."""
    principal = getattr(g, "principal", None)
    if principal is not None:
        return principal
    header = request.headers.get("Authorization", "")
    if not header:
        return _from_session()
    if not header.startswith("Bearer "):
        abort(401, message=_("需要登录: 请在 Authorization 头中提供 Bearer 令牌"))
    principal = principal_from_token(header[7:].strip())
    if principal is None:
        abort(401, message=_("令牌无效或已过期, 请重新登录"))
    g.principal = principal
    return principal


def _from_session() -> Principal:
    principal = session_principal()
    if principal is None:
        abort(401, message=_("需要登录: 请在 Authorization 头中提供 Bearer 令牌"))
    if request.method not in SAFE_METHODS and not csrf_valid(request.headers.get(CSRF_HEADER)):
        abort(403, message=_("请求缺少有效的 CSRF 令牌, 请刷新页面后重试"))
    g.principal = principal
    return principal


ACTION_ATTRIBUTE = "_policy_action"


def checked(action: str, object_id: str):
    """The object `action` is about, read in a transaction of its own: 404 when there is none,
    403 when it is outside the caller's scope (policy.load)."""
    with services().db.read() as conn:
        return policy.load(conn, current(), action, object_id)


def allow(action: str):
    """Declares the endpoint's action (a key of processes.policy.ACTIONS). The check itself
    runs before the request is parsed (web.api): sign-in (401), then the action's roles (403);
    the handler checks the object's scope through policy.load. An /api/v1 endpoint without a
    declared action answers 403 to everyone (and fails tests/web/test_policy_matrix.py)."""
    policy.rule(action)                  # an unknown action fails at import, not at run time

    def deco(fn):
        setattr(fn, ACTION_ATTRIBUTE, action)
        return fn
    return deco


def declared_action(view_function, method: str) -> str | None:
    view_class = getattr(view_function, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class else view_function
    if handler is None and method.upper() == "HEAD":
        handler = getattr(view_class, "get", None)
    return getattr(handler, ACTION_ATTRIBUTE, None)


def authorize() -> None:
    """Before every /api/v1 request: who calls (401) and whether the role may (403)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or request.method == "OPTIONS":
        current()                        # unknown paths: 401 first, then the 404
        return
    action = declared_action(view, request.method)
    if action is not None and policy.rule(action).roles is None:
        return                           # public: sign-in, verification of a printed code
    principal = current()
    if action is None:
        raise Forbidden(_("该接口未声明权限规则"))
    policy.require(principal, action)


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(429, description="登录失败次数过多, 稍后再试 (Retry-After: seconds)")
    @allow("auth.login")
    def post(self, body):
        """登录, 换取令牌 (exchange username and password for a bearer token)

        Failed sign-ins are limited per account and per client address: over the limit every
        attempt answers 429 with a `Retry-After` header (seconds), even with the right password."""
        limiter, address = throttle(), client_address()
        wait = limiter.attempt(body["username"], address)
        if wait:
            response = error_body(429, throttle_message(wait))
            response.headers["Retry-After"] = str(wait)
            return response
        with services().db.read() as conn:
            principal = authenticate(conn, body["username"], body["password"])
        if principal is None:
            limiter.failed(address)
            abort(401, message=_("用户名或密码错误"))
        limiter.succeeded(body["username"])
        return {"token": issue_token(principal), "username": principal.username,
                "role": principal.role, "display_name": principal.display_name,
                "expires_in": TOKEN_MAX_AGE}

    @blp.response(204)
    @allow("auth.logout")
    def delete(self):
        """注销令牌 (revoke the bearer token of this request at once)

        With a session cookie instead of a token (and its X-CSRF-Token header), the browser
        session is ended. Either way the credential answers 401 from the next request on."""
        header = request.headers.get("Authorization", "")
        with services().db.write() as conn:
            if header.startswith("Bearer "):
                sessions.revoke(conn, _token_secret(header[7:].strip()))
            else:
                sessions.revoke(conn, session.get("sid"))
        if not header:
            session.clear()
