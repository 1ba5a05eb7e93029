"""Sessions kept server-side: each signed-in browser and each API token is a row, so that
sign-out, a password change or a deactivation ends it at once (a copied cookie or token stops
working on its next request). The caller holds a random secret; the table keeps only its
SHA-256, so a read of the database gives no usable credential."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, bindparam, delete, insert, select, update

from engine.driver import Prebuilt

from .people import Principal, principal_of_row
from .schema import sessions, users

KINDS = ("browser", "token")


def utcnow() -> datetime:
    """Wall-clock time, not engine.clock: a session lasts 12 real hours however far a test or
    a replay moves the process clock (signed tokens and cookies keep real time too)."""
    return datetime.now(timezone.utc)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(conn, user_id: int, kind: str, lifetime_seconds: int) -> str:
    """A new session of the user; returns the secret the caller keeps (cookie or token)."""
    if kind not in KINDS:
        raise ValueError(kind)
    now = utcnow()
    # a user's ended sessions are dropped here, so the table holds only what could still work
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id,
                                        (sessions.c.expires_at < now)
                                        | sessions.c.revoked_at.is_not(None)))
    secret = secrets.token_urlsafe(32)
    conn.execute(insert(sessions).values(
        id=_digest(secret), user_id=user_id, kind=kind, created_at=now,
        expires_at=now + timedelta(seconds=lifetime_seconds)))
    return secret


def principal_of(conn, secret: str | None, kind: str | None = None) -> Principal | None:
    """The active user of a session that is neither revoked nor expired, else None."""
    if not secret or not isinstance(secret, str) or len(secret) > 200:
        return None
    row = _PRINCIPAL[kind is not None].first(conn, {
        "id": _digest(secret), "now": utcnow(), "kind": kind})
    return principal_of_row(row) if row else None


def _principal_query(of_kind: bool):
    conditions = [sessions.c.id == bindparam("id"), sessions.c.revoked_at.is_(None),
                  sessions.c.expires_at > bindparam("now"), users.c.active.is_(True)]
    if of_kind:
        conditions.append(sessions.c.kind == bindparam("kind"))
    return Prebuilt(select(users).select_from(
        sessions.join(users, users.c.id == sessions.c.user_id)).where(and_(*conditions)))


# Built once and run on the driver's cursor (engine.driver): every request reads its session.
_PRINCIPAL = {of_kind: _principal_query(of_kind) for of_kind in (False, True)}


def revoke(conn, secret: str | None) -> bool:
    """End one session (sign-out, DELETE /auth/token); True when it was still open."""
    if not secret or not isinstance(secret, str):
        return False
    result = conn.execute(update(sessions).where(
        sessions.c.id == _digest(secret), sessions.c.revoked_at.is_(None)).values(
        revoked_at=utcnow()))
    return result.rowcount > 0


def revoke_user(conn, user_id: int) -> int:
    """End every session of a user (password changed, account deactivated)."""
    result = conn.execute(update(sessions).where(
        sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None)).values(
        revoked_at=utcnow()))
    return result.rowcount
