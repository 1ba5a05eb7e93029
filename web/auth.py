"""Bearer tokens and the caller's identity."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from marshmallow import Schema, fields, validate

from processes.people import Principal, authenticate, get_user_by_id

from .ext import services

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
    return _serializer().dumps({"uid": principal.id})


def principal_from_token(token: str) -> Principal | None:
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    with services().db.read() as conn:
        return get_user_by_id(conn, data.get("uid"))


def current() -> Principal:
    """The authenticated caller; 401 when there is none."""
    principal = getattr(g, "principal", None)
    if principal is not None:
        return principal
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        abort(401, message="需要登录: 请在 Authorization 头中提供 Bearer 令牌 (missing token)")
    principal = principal_from_token(header[7:].strip())
    if principal is None:
        abort(401, message="令牌无效或已过期, 请重新登录 (invalid or expired token)")
    g.principal = principal
    return principal


def roles(*allowed: str):
    """Authenticate, then refuse callers whose role is not one of `allowed`."""
    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            principal = current()
            if allowed and principal.role not in allowed:
                abort(403, message=f"角色 {principal.role} 无权执行此操作 (forbidden for role)")
            return fn(*args, **kwargs)
        return wrapper
    return deco


def authenticated(fn):
    return roles()(fn)


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, TokenSchema)
    def post(self, body):
        """登录, 换取令牌 (exchange username and password for a bearer token)"""
        with services().db.read() as conn:
            principal = authenticate(conn, body["username"], body["password"])
        if principal is None:
            abort(401, message="用户名或密码错误 (wrong username or password)")
        return {"token": issue_token(principal), "username": principal.username,
                "role": principal.role, "display_name": principal.display_name,
                "expires_in": TOKEN_MAX_AGE}
