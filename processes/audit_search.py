"""Searching and checking the audit trail for auditors and leaders.

The events themselves are written by engine.audit; here they are joined to their instance so a
search can name a project (business key or scope), a process and a district. A district-scoped
reader sees only the events of instances in their scope: events without an instance (deploys,
user accounts) concern the whole bureau and are left to city-wide readers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from engine import audit
from engine.schema import audit_events, instances

from . import policy
from .people import Principal

CHINA = timezone(timedelta(hours=8))      # dates people type are days in Foshan


@dataclass(frozen=True)
class AuditFilter:
    business_key: str | None = None
    actor: str | None = None
    process_key: str | None = None
    kind: str | None = None
    since: datetime | None = None          # inclusive, UTC
    until: datetime | None = None          # exclusive, UTC
    instance_id: str | None = None
    descending: bool = True


def day_start(value: date | datetime) -> datetime:
    """A bound given as a date means the start of that day in China time; a naive datetime
    is China time as well (what a person in the bureau typed); an aware one is kept."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=CHINA)
    else:
        aware = datetime.combine(value, time(0), tzinfo=CHINA)
    return aware.astimezone(timezone.utc)


def upper_bound(value: date | datetime) -> datetime:
    """`to` is inclusive for a date (the whole day), exact for a datetime."""
    if isinstance(value, datetime):
        return day_start(value) + timedelta(microseconds=1)
    return day_start(value) + timedelta(days=1)


def _statement(principal: Principal, filt: AuditFilter):
    source = audit_events.outerjoin(instances, instances.c.id == audit_events.c.instance_id)
    stmt = (select(audit_events, instances.c.process_key, instances.c.business_key,
                   instances.c.scope_key)
            .select_from(source).where(policy.audit_clause(principal)))
    if filt.business_key:
        stmt = stmt.where(or_(instances.c.business_key == filt.business_key,
                              instances.c.scope_key == filt.business_key))
    if filt.actor:
        stmt = stmt.where(audit_events.c.actor == filt.actor)
    if filt.process_key:
        stmt = stmt.where(instances.c.process_key == filt.process_key)
    if filt.kind:
        # "task." or "task.*" asks for a family of kinds
        if filt.kind.endswith((".", "*")):
            stmt = stmt.where(audit_events.c.kind.startswith(filt.kind.rstrip("*"),
                                                             autoescape=True))
        else:
            stmt = stmt.where(audit_events.c.kind == filt.kind)
    if filt.instance_id:
        stmt = stmt.where(audit_events.c.instance_id == filt.instance_id)
    # SQLite keeps UTC wall times without an offset: compare in UTC
    if filt.since is not None:
        stmt = stmt.where(audit_events.c.at >= filt.since.astimezone(timezone.utc))
    if filt.until is not None:
        stmt = stmt.where(audit_events.c.at < filt.until.astimezone(timezone.utc))
    return stmt


def _row(r) -> dict:
    at = r.at if r.at.tzinfo is not None else r.at.replace(tzinfo=timezone.utc)
    return {"seq": r.seq, "at": at, "actor": r.actor, "kind": r.kind,
            "instance_id": r.instance_id, "task_id": r.task_id, "details": r.details or {},
            "prev_hash": r.prev_hash, "hash": r.hash, "process_key": r.process_key,
            "business_key": r.business_key or r.scope_key}


def search(conn: Connection, principal: Principal, filt: AuditFilter, offset: int,
           limit: int) -> tuple[int, list[dict]]:
    """One page of matching events (newest first unless asked otherwise) and the total."""
    stmt = _statement(principal, filt)
    total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    order = audit_events.c.seq.desc() if filt.descending else audit_events.c.seq
    rows = conn.execute(stmt.order_by(order).offset(offset).limit(limit)).all()
    return total, [_row(r) for r in rows]


def iter_events(conn: Connection, principal: Principal, filt: AuditFilter,
                batch: int = 1000) -> Iterator[dict]:
    """Every matching event, read in keyset batches so an export of the whole trail does not
    hold it all in memory."""
    last: int | None = None
    while True:
        stmt = _statement(principal, filt)
        if last is not None:
            stmt = stmt.where(audit_events.c.seq < last if filt.descending
                              else audit_events.c.seq > last)
        order = audit_events.c.seq.desc() if filt.descending else audit_events.c.seq
        rows = conn.execute(stmt.order_by(order).limit(batch)).all()
        if not rows:
            return
        for r in rows:
            yield _row(r)
        last = rows[-1].seq


def verify_chain(conn: Connection, key: bytes | None = None, anchor_dir: str = "") -> dict:
    """The same checks as `flask verify-audit` (processes.audit_check), shaped for a person
    reading the result."""
    from .audit_check import verify_all

    return verify_all(conn, key or audit.DEFAULT_KEY, anchor_dir).as_dict()
