"""Append-only audit trail; each event carries a keyed hash (HMAC-SHA256) of its content and
of the one before it.

Appending locks the single `audit_head` row, so events get consecutive sequence numbers in
commit order even with concurrent writers, and a rolled-back transaction leaves no event behind.

The key lives outside the database (settings.audit_key): someone who can write the tables, drop
the triggers and recompute the chain cannot make hashes that verify. Events written before the
chain was keyed keep their plain SHA-256 hashes; the first keyed event after them
(`audit.keyed`) names how many there are and the last one's hash, so they stay verifiable and
a later rewrite in the plain form is refused. Checkpoints of the head outside the database
(engine.audit_anchor) show a tail cut off after them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine

from .clock import utcnow
from .driver import Prebuilt
from .schema import audit_events, audit_head
from engine.i18n import _

GENESIS = "0" * 64
KEYED = "audit.keyed"                  # the seal over the plain events of an older database
SEAL_ACTOR = "system:audit"
# the engine's key when none is given (benchmarks, scripts); the app always passes its own
DEFAULT_KEY = b"jianguan-audit-development-key"


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
    """The plain SHA-256 of events written before the chain was keyed."""
    digest = hashlib.sha256(prev_hash.encode())
    digest.update(_canonical(seq, at, actor, kind, instance_id, task_id, details))
    return digest.hexdigest()


def keyed_hash(key: bytes, prev_hash: str, seq: int, at: datetime, actor: str, kind: str,
               instance_id: str | None, task_id: str | None, details: dict) -> str:
    """HMAC-SHA256 under the audit key over the previous hash and the event."""
    mac = hmac.new(key, prev_hash.encode(), hashlib.sha256)
    mac.update(_canonical(seq, at, actor, kind, instance_id, task_id, details))
    return mac.hexdigest()


@dataclass
class PendingEvent:
    actor: str
    kind: str
    instance_id: str | None = None
    task_id: str | None = None
    details: dict | None = None


_HEAD = (select(audit_head.c.seq, audit_head.c.hash, audit_head.c.keyed)
         .where(audit_head.c.id == 1).with_for_update())
_MOVE_HEAD = (update(audit_head).where(audit_head.c.id == 1)
              .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"), keyed=True))


# Appending reads the head under a lock, then moves it. A process that appended last knows
# the head already: it moves the head on condition that it is still what it left, and inserts
# the events, without reading it first (a statement fewer; on PostgreSQL the move and the
# inserts are one statement of data-modifying CTEs). When another writer appended since, the
# condition fails, nothing is written, and the append reads the head under the lock as before.
# Statements are built once with bound parameters: built with values, SQLAlchemy compiles a
# multi-row VALUES anew on every step.
_PG_ONE_STATEMENT = 4
_EVENT_COLUMNS = ("seq", "at", "actor", "kind", "instance_id", "task_id", "details",
                  "prev_hash", "hash")
_MOVE_IF_UNCHANGED = _MOVE_HEAD.where(audit_head.c.seq == bindparam("old_seq"),
                                      audit_head.c.hash == bindparam("old_hash"),
                                      audit_head.c.keyed.is_(True))
GUESS_AGAIN_EVERY = 16      # appends between tries once the guess keeps missing (other writers)


def _event_values(i: int) -> dict:
    return {name: bindparam(f"{name}_{i}", type_=audit_events.c[name].type)
            for name in _EVENT_COLUMNS}


def _pg_append_statement(count: int, guessed: bool):
    """The events' INSERTs and the head's move in one statement. With a guessed head the move
    is conditional and the events are selected from the moved row, so none is written when
    the head moved."""
    move = _MOVE_IF_UNCHANGED if guessed else _MOVE_HEAD
    moved = move.returning(audit_head.c.id).cte("moved_head")

    def insert_event(i: int):
        values = _event_values(i)
        if not guessed:
            return insert(audit_events).values(values)
        return insert(audit_events).from_select(
            list(values), select(*[v.label(k) for k, v in values.items()]).select_from(moved))
    statement = insert_event(count - 1).add_cte(moved)
    for i in range(count - 1):
        statement = statement.add_cte(insert_event(i).returning(audit_events.c.seq)
                                      .cte(f"event_{i}"))
    return statement


# On the driver's cursor (engine.driver): they run on every step.
_PG_APPEND = {(n, guessed): Prebuilt(_pg_append_statement(n, guessed))
              for n in range(1, _PG_ONE_STATEMENT + 1) for guessed in (False, True)}
_WRITE_EVENTS = Prebuilt(insert(audit_events).values({c: bindparam(c) for c in _EVENT_COLUMNS}))
_WRITE_HEAD = {False: Prebuilt(_MOVE_HEAD), True: Prebuilt(_MOVE_IF_UNCHANGED)}


class _Head:
    """The head as this process last left it, for one database; only ever a guess."""

    def __init__(self):
        self.seq: int | None = None
        self.hash: str | None = None
        self.misses = 0
        self.appends = 0

    def worth_trying(self) -> bool:
        self.appends += 1
        return self.seq is not None and (
            self.misses < 2 or self.appends % GUESS_AGAIN_EVERY == 0)


_heads: "WeakKeyDictionary[Engine, _Head]" = WeakKeyDictionary()


def _head_of(conn: Connection) -> _Head:
    head = _heads.get(conn.engine)
    if head is None:
        head = _heads.setdefault(conn.engine, _Head())
    return head


def append(conn: Connection, events: list[PendingEvent], key: bytes | None = None,
           seal: bool = False) -> None:
    """Chain and insert events inside the caller's transaction (call it last: it holds a lock).
    `seal`: write the `audit.keyed` seal over an older database's plain events even when there
    are no events (flask setup does, right after the migration)."""
    if not events and not seal:
        return
    key = key or DEFAULT_KEY
    known = _head_of(conn)
    if events and known.worth_trying():
        guess = (known.seq, known.hash)
        if _write(conn, _chain(events, key, *guess), guess):
            known.misses = 0
            return
        known.misses += 1
    head = conn.execute(_HEAD).first()
    if head is None:
        conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS, keyed=True))
        seq, prev, keyed = 0, GENESIS, True
    else:
        seq, prev, keyed = head.seq, head.hash, head.keyed
    if not keyed and seq > 0:
        events = [PendingEvent(SEAL_ACTOR, KEYED, details={
            "legacy_until": seq, "legacy_head": prev}), *events]
    if not events:
        if not keyed:
            _WRITE_HEAD[False].run(conn, {"new_seq": seq, "new_hash": prev})
        return
    _write(conn, _chain(events, key, seq, prev), None)


def _chain(events: list[PendingEvent], key: bytes, seq: int, prev: str) -> list[dict]:
    rows = []
    for ev in events:
        seq += 1
        at = utcnow()
        details = _jsonable(ev.details or {})
        digest = keyed_hash(key, prev, seq, at, ev.actor, ev.kind, ev.instance_id, ev.task_id,
                            details)
        rows.append({"seq": seq, "at": at, "actor": ev.actor, "kind": ev.kind,
                     "instance_id": ev.instance_id, "task_id": ev.task_id, "details": details,
                     "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


def _write(conn: Connection, rows: list[dict], guess: tuple[int, str] | None) -> bool:
    """Insert the chained rows and move the head to the last; with a guess, only if the head
    is still there (False, and nothing written, when it is not)."""
    moved = {"new_seq": rows[-1]["seq"], "new_hash": rows[-1]["hash"]}
    if guess is not None:
        moved.update(old_seq=guess[0], old_hash=guess[1])
    if conn.dialect.name == "postgresql" and len(rows) <= _PG_ONE_STATEMENT:
        params = dict(moved)
        for i, row in enumerate(rows):
            params.update({f"{name}_{i}": value for name, value in row.items()})
        count = _PG_APPEND[len(rows), guess is not None].run(conn, params).rowcount
        written = guess is None or count == 1
    else:
        count = _WRITE_HEAD[guess is not None].run(conn, moved).rowcount
        written = guess is None or count == 1
        if written:
            _WRITE_EVENTS.run(conn, rows)
    if written:
        head = _head_of(conn)
        head.seq, head.hash = moved["new_seq"], moved["new_hash"]
    return written


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


@dataclass
class ChainBreak:
    seq: int
    reason: str


def verify(conn: Connection, key: bytes | None = None, batch: int = 5000,
           checkpoint: tuple[int, str] | None = None) -> tuple[int, ChainBreak | None]:
    """Walk the whole chain under the key; returns (events checked, first break or None).
    `checkpoint` (seq, hash) is the newest signed head kept outside the database: the chain
    must hold that event with that hash."""
    key = key or DEFAULT_KEY
    prev, expected_seq, checked = GENESIS, 1, 0
    plain, keyed_seen = 0, False          # plain events not yet sealed; any keyed one seen
    for row in _iter_events(conn, batch):
        if row.seq != expected_seq:
            return checked, ChainBreak(expected_seq, _("事件缺失: {expected_seq}").format(
                                                         expected_seq=expected_seq))
        if row.prev_hash != prev:
            return checked, ChainBreak(row.seq, _("前序哈希不匹配"))
        fields = (prev, row.seq, row.at, row.actor, row.kind, row.instance_id, row.task_id,
                  row.details)
        if hmac.compare_digest(keyed_hash(key, *fields), row.hash):
            if row.kind == KEYED:
                details = row.details or {}
                if keyed_seen or details.get("legacy_until") != plain or \
                        details.get("legacy_head") != prev:
                    return checked, ChainBreak(row.seq, _("密钥封存点与旧事件不符"))
                plain = 0
            elif plain:
                return checked, ChainBreak(row.seq - plain, _("事件未加密钥"))
            keyed_seen = True
        elif not keyed_seen and event_hash(*fields) == row.hash:
            plain += 1                      # an older database's event, sealed further on
        else:
            return checked, ChainBreak(row.seq, _("内容被修改或不是以审计密钥计算"))
        if checkpoint is not None and row.seq == checkpoint[0] and row.hash != checkpoint[1]:
            return checked, ChainBreak(row.seq, _("与检查点不符"))
        prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    if plain:
        return checked, ChainBreak(checked - plain + 1, _("旧事件尚未以审计密钥封存, 请运行 flask setup"))
    if checkpoint is not None and checked < checkpoint[0]:
        return checked, ChainBreak(checked + 1, _("链尾被截断: 检查点记录到第 {value} 条").format(
                                                    value=checkpoint[0]))
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
