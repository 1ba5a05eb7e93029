"""Append-only audit trail; each event carries the SHA-256 of the one before it.

Appending locks the single `audit_head` row, so events get consecutive sequence numbers in
commit order even with concurrent writers, and a rolled-back transaction leaves no event behind.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from .clock import utcnow
from .schema import audit_events, audit_head
from engine.i18n import _

GENESIS = "0" * 64


def _canonical(seq: int, at: datetime, actor: str, kind: str, instance_id: str | None,
               task_id: str | None, details: dict) -> bytes:
    body = {"seq": seq, "at": _iso(at), "actor": actor, "kind": kind,
            "instance_id": instance_id, "task_id": task_id, "details": details}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode()


def _iso(at: datetime) -> str:
    # SQLite hands datetimes back naive (UTC): hash the UTC wall time without an offset.
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, seq: int, at: datetime, actor: str, kind: str,
               instance_id: str | None, task_id: str | None, details: dict) -> str:
    digest = hashlib.sha256(prev_hash.encode())
    digest.update(_canonical(seq, at, actor, kind, instance_id, task_id, details))
    return digest.hexdigest()


@dataclass
class PendingEvent:
    actor: str
    kind: str
    instance_id: str | None = None
    task_id: str | None = None
    details: dict | None = None


_HEAD = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
_MOVE_HEAD = (update(audit_head).where(audit_head.c.id == 1)
              .values(seq=bindparam("new_seq"), hash=bindparam("new_hash")))


def append(conn: Connection, events: list[PendingEvent]) -> None:
    """Chain and insert events inside the caller's transaction (call it last: it holds a lock)."""
    if not events:
        return
    head = conn.execute(_HEAD).first()
    if head is None:
        conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))
        seq, prev = 0, GENESIS
    else:
        seq, prev = head.seq, head.hash
    rows = []
    for ev in events:
        seq += 1
        at = utcnow()
        details = _jsonable(ev.details or {})
        digest = event_hash(prev, seq, at, ev.actor, ev.kind, ev.instance_id, ev.task_id, details)
        rows.append({"seq": seq, "at": at, "actor": ev.actor, "kind": ev.kind,
                     "instance_id": ev.instance_id, "task_id": ev.task_id, "details": details,
                     "prev_hash": prev, "hash": digest})
        prev = digest
    conn.execute(insert(audit_events), rows)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


@dataclass
class ChainBreak:
    seq: int
    reason: str


def verify(conn: Connection, batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the whole chain; returns (events checked, first break or None)."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for row in _iter_events(conn, batch):
        if row.seq != expected_seq:
            return checked, ChainBreak(expected_seq, _("事件缺失: {expected_seq}").format(
                                                         expected_seq=expected_seq))
        if row.prev_hash != prev:
            return checked, ChainBreak(row.seq, _("前序哈希不匹配"))
        digest = event_hash(prev, row.seq, row.at, row.actor, row.kind, row.instance_id,
                            row.task_id, row.details)
        if digest != row.hash:
            return checked, ChainBreak(row.seq, _("内容被修改"))
        prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    if head is not None and (head.seq != checked or head.hash != prev):
        return checked, ChainBreak(checked + 1, _("链尾被截断"))
    return checked, None


def _iter_events(conn: Connection, batch: int) -> Iterator:
    last = 0
    while True:
        rows = conn.execute(select(audit_events).where(audit_events.c.seq > last)
                            .order_by(audit_events.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
