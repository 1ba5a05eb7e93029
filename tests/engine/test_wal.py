"""SQLite's log is checkpointed by engine.wal's thread, not by the commit of a step: the log
still reaches the database file, a writer's connection checkpoints only as a backstop, and
the thread ends with its database."""
from __future__ import annotations

import shutil
import sqlite3

import pytest
from sqlalchemy import text

from engine.db import Database
from engine.wal import BACKSTOP_PAGES
from tests.waiting import wait_until


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    with database.write() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    yield database
    database.dispose()


def write_rows(db: Database, count: int) -> None:
    for n in range(count):
        with db.write() as conn:
            conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": "整改" * 200 + str(n)})


def rows_in_file_alone(path, scratch) -> int:
    """Rows the database file holds without its log: a copy of the file alone is opened, so
    only what a checkpoint copied into it counts."""
    shutil.copyfile(path, scratch)
    conn = sqlite3.connect(scratch)
    try:
        return conn.execute("SELECT count(*) FROM notes").fetchone()[0]
    except sqlite3.DatabaseError:        # no table yet, or a copy taken mid-checkpoint
        return -1
    finally:
        conn.close()


def test_a_writers_connection_checkpoints_only_as_a_backstop(db):
    with db.write() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == BACKSTOP_PAGES
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_checkpoint_copies_every_committed_frame_into_the_file(db, tmp_path):
    db.checkpointer.stop()                 # this test runs the checkpoints itself
    write_rows(db, 20)
    busy, frames, copied = db.checkpointer.run_once()
    assert busy == 0 and frames > 0 and copied == frames
    # the file alone, opened without its log, holds the rows
    assert rows_in_file_alone(tmp_path / "wal.db", tmp_path / "copy.db") == 20


def test_the_thread_checkpoints_while_the_process_writes_and_ends_with_dispose(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'live.db'}")
    db.checkpointer.interval = 0.02
    assert not db.checkpointer.running          # nothing written yet: no thread
    with db.write() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    assert db.checkpointer.running
    write_rows(db, 30)
    wait_until(lambda: rows_in_file_alone(tmp_path / "live.db", tmp_path / "copy.db") == 30,
               10, "the checkpoint thread to copy the log into the file")
    assert db.checkpointer.runs > 0
    db.dispose()
    assert not db.checkpointer.running


def test_a_removed_database_file_is_not_created_again(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'gone.db'}")
    with db.write() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    db.dispose()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"gone.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(sqlite3.OperationalError):
        db.checkpointer.run_once()
    assert not (tmp_path / "gone.db").exists()


def test_an_in_memory_database_has_no_checkpointer():
    db = Database("sqlite:///:memory:")
    assert db.checkpointer is None
    db.dispose()


def test_the_thread_ends_when_writes_stop_and_the_next_write_starts_it(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'idle.db'}")
    db.checkpointer.interval, db.checkpointer.idle_seconds = 0.02, 0.1
    with db.write() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    wait_until(lambda: not db.checkpointer.running, 10, "the idle thread to end")
    write_rows(db, 5)
    assert db.checkpointer.running
    wait_until(lambda: rows_in_file_alone(tmp_path / "idle.db", tmp_path / "copy.db") == 5,
               10, "the restarted thread to checkpoint the new rows")
    db.dispose()
