"""Database access: one SQLAlchemy engine, short explicit transactions.

Write transactions on SQLite start with BEGIN IMMEDIATE so that two writers never both read an
instance and then race to update it: the second one waits for the first to commit (bounded by
the busy timeout) and then sees its result. On PostgreSQL writers run concurrently and the
optimistic lock on instances decides who wins.
"""
from __future__ import annotations

import hashlib
import os
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event, exc as sa_exc, text
from sqlalchemy.engine import Connection, Engine

from .driver import Prebuilt
from .errors import StaleWrite
from .wal import BACKSTOP_PAGES, Checkpointer
from engine.i18n import _

DEFAULT_SQLITE_PATH = os.path.join("var", "jianguan.db")
PING_AFTER_IDLE = 5.0     # seconds a pooled PostgreSQL connection may rest unchecked


def default_url() -> str:
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


class Database:
    """Owns the SQLAlchemy engine; hands out read and write transactions."""

    def __init__(self, url: str | None = None, echo: bool = False, pool_size: int = 10):
        self.url = url or default_url()
        self.sqlite = is_sqlite(self.url)
        self.checkpointer: Checkpointer | None = None
        if self.sqlite:
            path = self.url.split("///", 1)[-1]
            if path and path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                self.checkpointer = Checkpointer(os.path.abspath(path))
            self.engine: Engine = create_engine(
                self.url, echo=echo, connect_args={"timeout": 60, "check_same_thread": False})
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(
                self.url, echo=echo, pool_size=pool_size, max_overflow=20)
            _ping_when_idle(self.engine)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may change data; commits on success, rolls back on any error."""
        if self.checkpointer is not None:
            self.checkpointer.ensure_running()
        with self.engine.connect() as conn:
            if self.sqlite:
                conn.info["immediate"] = True
            try:
                with conn.begin():
                    yield conn
            except Exception as exc:
                translated = _translate(exc)
                if translated is exc:
                    raise          # untranslated: as it was, with its own cause and traceback
                raise translated from exc
            finally:
                conn.info.pop("immediate", None)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Reads. On PostgreSQL they run without a transaction: under read committed each
        statement sees what was committed when it began, inside a transaction or not, so a
        BEGIN and a COMMIT around reads were two round trips that bought nothing (a page or an
        API read makes several). SQLite's reads keep theirs: one snapshot for all of the
        block's statements, and it costs no round trip."""
        with self.engine.connect() as conn:
            if self.sqlite:
                with conn.begin():
                    yield conn
            else:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


def hold_until_commit(conn: Connection, key: str) -> None:
    """Writers that hold the same key go one at a time, each until its transaction ends (for
    a read-then-write that a unique constraint alone would turn into retries). PostgreSQL
    takes a transaction-scoped advisory lock; SQLite's writers are one at a time already."""
    if conn.dialect.name == "postgresql":
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                     {"key": int.from_bytes(digest, "big", signed=True)})


def _ping_when_idle(engine: Engine) -> None:
    """pool_pre_ping, but only for a connection that rested in the pool: the ping is a round
    trip (and two autocommit switches) on every checkout, a tenth of a busy step's time. A
    connection checked in moments ago was working then; one that rested may have been cut by
    a database restart or a firewall, and is pinged and replaced as pool_pre_ping would."""
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):
        if record is not None:
            record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):
        rested = time.monotonic() - record.info.get("checked_in", float("-inf"))
        if rested < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa_exc.DisconnectionError(_("数据库连接已断开")) from exc
        if alive is False:
            raise sa_exc.DisconnectionError(_("数据库连接已断开"))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's begin event decide how transactions start (pysqlite's own
        # implicit BEGIN cannot be IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # checkpoints run on engine.wal's thread; a commit checkpoints only if it falls behind
        cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        _BEGIN[bool(conn.info.get("immediate"))].run(conn, {})


# on the driver's cursor: every step begins one (engine.driver)
_BEGIN = {False: Prebuilt(text("BEGIN")), True: Prebuilt(text("BEGIN IMMEDIATE"))}


def _translate(exc: Exception) -> Exception:
    """Serialization failures and deadlocks are conflicts the caller may retry, not crashes."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "could not serialize" in text or "deadlock detected" in text or "database is locked" in text:
        return StaleWrite(_("并发冲突, 请重试"))
    return exc
