"""The messages received, as operators list them: newest first, with the state each is in.

`buffered` means still waiting for a subscription; past its time to live it is `expired`
(the row keeps `buffered`: expiry is read off the time, nothing rewrites it)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Select, and_, or_, select

from .schema import messages


def listing(now: datetime, status: str | None = None, name: str | None = None) -> Select:
    stmt = select(messages)
    if status:
        stmt = stmt.where(_status_clause(status, now))
    if name:
        stmt = stmt.where(messages.c.name == name)
    return stmt.order_by(messages.c.id.desc())


def _status_clause(status: str, now: datetime):
    if status == "buffered":
        return and_(messages.c.status == "buffered",
                    or_(messages.c.expires_at.is_(None), messages.c.expires_at > now))
    if status == "expired":
        return and_(messages.c.status == "buffered", messages.c.expires_at <= now)
    return messages.c.status == status


def record(row, now: datetime) -> dict:
    """One message as listed, its status as of `now`."""
    item = dict(row._mapping)
    expires = row.expires_at
    if expires is not None and expires.tzinfo is None:     # SQLite hands back naive UTC
        expires = expires.replace(tzinfo=timezone.utc)
    if row.status == "buffered" and expires is not None and expires <= now:
        item["status"] = "expired"
    return item
