"""Writes on the driver's cursor store what SQLAlchemy's path would store (times in UTC, JSON,
Chinese text), reads give back what SQLAlchemy's rows hold, statements fail with the same
exceptions, and inside a pipeline writes report their row counts and errors once it ends, on
SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import (JSON, Boolean, Column, Integer, MetaData, String, Table, bindparam,
                        Numeric, event, func, insert, select, update)
from sqlalchemy.exc import IntegrityError

from engine.driver import Prebuilt, all_together, pipeline
from engine.schema import UTCDateTime

meta = MetaData()
notes = Table("driver_test_notes", meta, Column("id", String(10), primary_key=True),
              Column("n", Integer), Column("body", JSON), Column("at", UTCDateTime()),
              Column("done", Boolean, default=False), Column("amount", Numeric(10, 2)))
ADD = Prebuilt(insert(notes).values(id=bindparam("id"), n=bindparam("n"),
                                    body=bindparam("body"), at=bindparam("at")))
BUMP = Prebuilt(update(notes).where(notes.c.id == bindparam("nid"), notes.c.n == bindparam("old"))
                .values(n=bindparam("new")))


@pytest.fixture
def db(engine):
    meta.drop_all(engine.db.engine)
    meta.create_all(engine.db.engine)
    yield engine.db
    meta.drop_all(engine.db.engine)


def rows(db):
    with db.read() as conn:
        return conn.execute(select(notes).order_by(notes.c.id)).all()


def test_values_come_back_as_sqlalchemy_would_write_them(db):
    beijing = timezone(timedelta(hours=8))
    with db.write() as conn:
        ADD.run(conn, [dict(id="a", n=1, body={"整改": ["扬尘", 3]},
                            at=datetime(2026, 12, 3, 9, 30, tzinfo=beijing)),
                       dict(id="b", n=2, body=None, at=datetime(2026, 12, 3, 1, 30))])
    a, b = rows(db)
    assert a.body == {"整改": ["扬尘", 3]}
    assert a.at == datetime(2026, 12, 3, 1, 30, tzinfo=timezone.utc)     # 09:30 +08:00
    assert b.at == a.at and b.body is None


def test_row_counts_and_statement_events(db):
    seen = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    with db.write() as conn:
        ADD.run(conn, dict(id="a", n=1, body={}, at=None))
        assert BUMP.run(conn, dict(nid="a", old=1, new=2)).rowcount == 1
        assert BUMP.run(conn, dict(nid="a", old=1, new=3)).rowcount == 0
    assert [r.n for r in rows(db)] == [2]
    assert sum(s.startswith(("INSERT INTO driver_test_notes", "UPDATE driver_test_notes"))
               for s in seen) == 3


def test_a_duplicate_is_sqlalchemys_integrity_error_and_nothing_is_kept(db):
    with db.write() as conn:
        ADD.run(conn, dict(id="a", n=1, body={}, at=None))
    with pytest.raises(IntegrityError):
        with db.write() as conn:
            BUMP.run(conn, dict(nid="a", old=1, new=5))
            ADD.run(conn, dict(id="a", n=9, body={}, at=None))
    assert [(r.id, r.n) for r in rows(db)] == [("a", 1)]


def test_a_pipeline_reports_counts_at_its_end_and_an_error_with_the_counts_before_it(db):
    with db.write() as conn:
        ADD.run(conn, dict(id="a", n=1, body={}, at=None))
    with db.write() as conn:
        with pipeline(conn):
            moved = BUMP.run(conn, dict(nid="a", old=1, new=2))
            missed = BUMP.run(conn, dict(nid="a", old=1, new=3))
        assert (moved.rowcount, missed.rowcount) == (1, 0)
    with pytest.raises(IntegrityError):
        with db.write() as conn:
            with pipeline(conn):
                refused = BUMP.run(conn, dict(nid="a", old=1, new=4))
                ADD.run(conn, dict(id="a", n=9, body={}, at=None))
    assert refused.rowcount == 0          # what persist() turns into "someone else saved first"
    assert [(r.id, r.n) for r in rows(db)] == [("a", 2)]


READ = Prebuilt(select(notes, (notes.c.n * 10).label("tenfold"),
                       select(func.count()).select_from(notes).scalar_subquery().label("total"))
                .where(notes.c.n >= bindparam("least")).order_by(notes.c.id))


def test_a_read_gives_what_sqlalchemys_rows_hold(db):
    beijing = timezone(timedelta(hours=8))
    with db.write() as conn:
        ADD.run(conn, [dict(id="a", n=1, body={"整改": ["扬尘", 3]},
                            at=datetime(2026, 12, 3, 9, 30, tzinfo=beijing)),
                       dict(id="b", n=2, body=None, at=None)])
        conn.execute(update(notes).where(notes.c.id == "b").values(done=True, amount=12.5))
    with db.write() as conn:
        ours = READ.all(conn, {"least": 0})
        theirs = conn.execute(READ.statement, {"least": 0}).all()
        assert READ.first(conn, {"least": 5}) is None
    assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
    assert [r._mapping for r in ours] == [dict(r._mapping) for r in theirs]
    a, b = ours
    assert a.at == datetime(2026, 12, 3, 1, 30, tzinfo=timezone.utc)
    assert a.body == {"整改": ["扬尘", 3]} and a.done is False and b.done is True
    assert (a.tenfold, b.total) == (10, 2)
    assert a.amount is None and b.amount == Decimal("12.50")      # numeric, as SQLAlchemy reads it


def test_reads_sent_together_give_what_each_gives_alone(db, engine):
    with db.write() as conn:
        ADD.run(conn, [dict(id=k, n=n, body={"n": n}, at=datetime(2026, 12, 3, n, 0))
                       for n, k in enumerate("abc")])
    seen = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    with db.read() as conn:
        alone = [READ.all(conn, {"least": 1}), READ.all(conn, {"least": 5}),
                 READ.all(conn, {"least": 0})]
        together = all_together(conn, [(READ, {"least": 1}), (READ, {"least": 5}),
                                       (READ, {"least": 0})])
    assert together == alone
    assert [r.id for r in together[0]] == ["b", "c"] and together[1] == []
    assert sum(s.startswith("SELECT") for s in seen) == 6


def test_a_time_bound_again_and_again_is_written_right_each_time(db):
    """The driver remembers the last time it formatted (a step binds its own time often)."""
    first, second = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc), datetime(2026, 12, 4, 9, 5)
    with db.write() as conn:
        ADD.run(conn, [dict(id=k, n=i, body=None, at=at)
                       for i, (k, at) in enumerate(zip("abcde", [first, first, second, first,
                                                                  None]))])
    assert [r.at for r in rows(db)] == [first, first, second.replace(tzinfo=timezone.utc),
                                        first, None]
