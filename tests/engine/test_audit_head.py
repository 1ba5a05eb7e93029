"""The audit chain stays one unbroken chain when a writer appends from what it remembers of the
head: another process's appends in between, a rolled-back append and a rewritten head all make
the remembered head wrong, and the append then reads the head under the lock as before."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, update

from engine import audit
from engine.db import Database
from engine.schema import audit_events, audit_head

KEY = b"test-audit-key"


def append(db: Database, actor: str, count: int = 1) -> None:
    with db.write() as conn:
        audit.append(conn, [audit.PendingEvent(actor, "test.event", details={"n": i})
                            for i in range(count)], KEY)


def chain(db: Database) -> list:
    with db.read() as conn:
        checked, broken = audit.verify(conn, KEY)
        assert broken is None, broken
        return conn.execute(select(audit_events.c.seq, audit_events.c.actor)
                            .order_by(audit_events.c.seq)).all()


@pytest.fixture
def two_writers(engine):
    """Two writers on one database, each with its own connection pool and memory of the head,
    as two gunicorn workers have."""
    first, second = Database(engine.db.url), Database(engine.db.url)
    yield first, second
    first.dispose()
    second.dispose()


def test_writers_taking_turns_keep_one_chain(two_writers):
    first, second = two_writers
    with first.read() as conn:
        before = conn.execute(select(func.count()).select_from(audit_events)).scalar()
    for turn in range(6):
        append(first, "first", count=1 + turn % 3)     # 1 to 3 events in one transaction
        append(second, "second", count=2)
        append(second, "second", count=1)
    rows = chain(first)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) - before == 12 + 6 * 3      # first: 1+2+3+1+2+3; second: 3 a turn
    assert sum(r.actor == "first" for r in rows) == 12


def test_a_rolled_back_append_leaves_nothing_and_the_next_one_chains_on(two_writers):
    first, _ = two_writers
    append(first, "kept")
    with pytest.raises(RuntimeError):
        with first.write() as conn:
            audit.append(conn, [audit.PendingEvent("lost", "test.event")], KEY)
            raise RuntimeError("the step failed after its events were chained")
    append(first, "after")
    rows = chain(first)
    assert [r.actor for r in rows[-2:]] == ["kept", "after"]
    assert "lost" not in {r.actor for r in rows}


def test_a_head_moved_behind_the_writers_back_is_read_again(two_writers):
    first, _ = two_writers
    append(first, "first")
    with first.write() as conn:          # e.g. a restore: the head is no longer what it left
        last = conn.execute(select(audit_events).order_by(audit_events.c.seq.desc())).first()
        conn.execute(update(audit_head).values(seq=last.seq, hash=last.hash))
    append(first, "after")
    rows = chain(first)
    assert rows[-1].actor == "after"


def test_a_writer_alone_does_not_read_the_head_again(two_writers):
    first, _ = two_writers
    append(first, "warm")                # the first append reads the head and remembers it
    seen: list[str] = []
    event.listen(first.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: seen.append(statement))
    append(first, "alone", count=2)
    assert not any(s.lstrip().upper().startswith("SELECT") and "audit_head" in s for s in seen)
    assert chain(first)[-1].actor == "alone"
