"""Users of the platform: creation, password check, look-up."""
from __future__ import annotations

from dataclasses import dataclass

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


def _principal(row) -> Principal:
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
    else:
        conn.execute(insert(users).values(username=username, created_at=utcnow(), **values))
    return get_user(conn, username)


def get_user(conn, username: str) -> Principal | None:
    row = conn.execute(select(users).where(users.c.username == username,
                                           users.c.active.is_(True))).first()
    return _principal(row) if row else None


def get_user_by_id(conn, user_id: int) -> Principal | None:
    row = conn.execute(select(users).where(users.c.id == user_id,
                                           users.c.active.is_(True))).first()
    return _principal(row) if row else None


def authenticate(conn, username: str, password: str) -> Principal | None:
    row = conn.execute(select(users).where(users.c.username == username,
                                           users.c.active.is_(True))).first()
    if row is None or not check_password_hash(row.password_hash, password or ""):
        return None
    return _principal(row)
