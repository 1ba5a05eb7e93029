"""Users of the platform: creation, password check, look-up."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from engine.clock import utcnow
from engine.errors import Conflict, Invalid

from .policy import BUREAU_ROLES, ENTERPRISE_COLUMNS, ROLES
from .schema import enterprises, users
from engine.i18n import _


@dataclass(frozen=True)
class Principal:
    id: int
    username: str
    display_name: str
    role: str
    district: str | None
    enterprise_code: str | None

    @property
    def is_bureau(self) -> bool:
        return self.role in BUREAU_ROLES


def principal_of_row(row) -> Principal:
    return Principal(row.id, row.username, row.display_name, row.role, row.district,
                     row.enterprise_code)


def create_user(conn, username: str, role: str, password: str, district: str | None = None,
                enterprise_code: str | None = None, display_name: str | None = None,
                replace: bool = False, password_hash: str | None = None) -> Principal:
    """Validated insert (or replace); `password_hash` lets bulk loaders hash a shared password
    once."""
    errors = {}
    if not username or len(username) > 100 or not username.replace("_", "").replace(
            "-", "").replace(".", "").isalnum():
        errors["username"] = [_("用户名只能包含字母、数字、下划线、点和短横线")]
    if role not in ROLES:
        errors["role"] = [_("角色必须是 {value} 之一").format(value=', '.join(ROLES))]
    if not password or len(password) < 6:
        errors["password"] = [_("密码至少 6 位")]
    if role in ENTERPRISE_COLUMNS and not enterprise_code:
        errors["enterprise"] = [_("企业用户必须指定所属企业")]
    if enterprise_code and conn.execute(select(enterprises.c.code).where(
            enterprises.c.code == enterprise_code)).first() is None:
        errors["enterprise"] = [_("企业 {enterprise_code} 不存在").format(
                                    enterprise_code=enterprise_code)]
    if errors:
        raise Invalid(_("用户信息无效"), errors)
    values = dict(display_name=display_name or username, role=role, district=district or None,
                  enterprise_code=enterprise_code or None, active=True,
                  password_hash=password_hash or generate_password_hash(password))
    existing = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if existing is not None:
        if not replace:
            raise Conflict(_("用户 {username} 已存在").format(username=username))
        conn.execute(update(users).where(users.c.id == existing.id).values(**values))
        _end_sessions(conn, existing.id)          # a replaced user may have a new password
    else:
        conn.execute(insert(users).values(username=username, created_at=utcnow(), **values))
    return get_user(conn, username)


def get_user(conn, username: str) -> Principal | None:
    row = conn.execute(select(users).where(users.c.username == username,
                                           users.c.active.is_(True))).first()
    return principal_of_row(row) if row else None


def get_user_by_id(conn, user_id: int) -> Principal | None:
    row = conn.execute(select(users).where(users.c.id == user_id,
                                           users.c.active.is_(True))).first()
    return principal_of_row(row) if row else None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, made like a real user's: checking a password for an
    unknown user costs the same as for a known one (no telling names apart by timing)."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(conn, username: str, password: str) -> Principal | None:
    row = conn.execute(select(users).where(users.c.username == username,
                                           users.c.active.is_(True))).first()
    if row is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(row.password_hash, password or ""):
        return None
    return principal_of_row(row)


def _end_sessions(conn, user_id: int) -> None:
    from .sessions import revoke_user    # sessions reads Principal from here

    revoke_user(conn, user_id)


def set_password(conn, username: str, password: str) -> Principal | None:
    """A new password (hashed with its own salt); every session of the user ends."""
    if not password or len(password) < 6 or len(password) > 200:
        raise Invalid(_("密码无效"),
                      {"password": [_("密码长度须为 6 到 200 位")]})
    row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise Invalid(_("用户 {username} 不存在").format(username=username),
                      {"username": [_("用户不存在")]})
    conn.execute(update(users).where(users.c.id == row.id).values(
        password_hash=generate_password_hash(password)))
    _end_sessions(conn, row.id)
    return get_user_by_id(conn, row.id)


def set_active(conn, username: str, active: bool) -> None:
    """Deactivate (sessions end at once, sign-in refused) or reactivate a user."""
    row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
    if row is None:
        raise Invalid(_("用户 {username} 不存在").format(username=username),
                      {"username": [_("用户不存在")]})
    conn.execute(update(users).where(users.c.id == row.id).values(active=active))
    if not active:
        _end_sessions(conn, row.id)
