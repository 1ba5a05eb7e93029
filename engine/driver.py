"""The writes every engine step makes, run on the driver's own cursor.

SQLAlchemy's execution path (cache look-up, parameter processing, result set-up) costs about
60 µs a statement where sqlite3's own call costs 3, and a step writes five to eight of them.
These statements are compiled once per dialect; their parameters go through the same type
processors SQLAlchemy would apply, the connection's cursor events still fire (the benchmarks
count statements with them), and a driver error becomes the same SQLAlchemy exception. Reads
stay with SQLAlchemy: their rows need its result processing.

On PostgreSQL the writes of one step go out in one pipeline: a round trip for all of them
instead of one each (psycopg's pipeline mode; results, errors and row counts arrive when the
pipeline ends).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection


class Ran:
    """A statement sent; its row count once the driver has it (at once, or at a pipeline's
    end)."""

    def __init__(self, cursor):
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class _Compiled:
    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.defaults = {}                                  # values written into the statement
        self.processors = {}
        for name, bind in compiled.binds.items():
            if not bind.required:
                self.defaults[name] = bind.effective_value
            if bind.expanding:
                raise ValueError(f"{name}: expanding parameters need SQLAlchemy's path")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.processors[name] = process
        self.order = list(compiled.positiontup) if compiled.positional else None

    def parameters(self, given: dict):
        values = {**self.defaults, **given}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


class Prebuilt:
    """One write statement (INSERT, UPDATE or DELETE; no expanding IN lists) for the driver."""

    def __init__(self, statement):
        self.statement = statement
        self._by_dialect: dict = {}

    def _compiled(self, dialect) -> _Compiled:
        key = (type(dialect), dialect.paramstyle)
        compiled = self._by_dialect.get(key)
        if compiled is None:
            compiled = self._by_dialect[key] = _Compiled(self.statement, dialect)
        return compiled

    def run(self, conn: Connection, params: dict | list[dict]) -> Ran:
        """Execute with one row of parameters, or many (executemany) given a list."""
        compiled = self._compiled(conn.dialect)
        many = isinstance(params, list)
        values = [compiled.parameters(p) for p in params] if many else compiled.parameters(params)
        dbapi_conn = conn.connection.driver_connection
        cursor = dbapi_conn.cursor()
        dispatch = conn.dispatch
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(conn, cursor, compiled.sql, values, None, many)
        try:
            if many:
                cursor.executemany(compiled.sql, values)
            else:
                cursor.execute(compiled.sql, values)
        except conn.dialect.loaded_dbapi.Error as err:
            raise _wrapped(conn, compiled.sql, values, err, cursor) from err
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(conn, cursor, compiled.sql, values, None, many)
        return Ran(cursor)


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """The writes run inside go out together on PostgreSQL (psycopg's pipeline); their row
    counts and any error arrive when the block ends. Elsewhere each runs as it comes."""
    if conn.dialect.name != "postgresql":
        yield
        return
    dbapi_conn = conn.connection.driver_connection
    try:
        with dbapi_conn.pipeline():
            yield
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(conn, "(pipeline)", None, err, None) from err


def _wrapped(conn: Connection, sql: str, params, err: Exception, cursor) -> Exception:
    """The exception SQLAlchemy's own path raises for this driver error; a lost connection is
    invalidated, as SQLAlchemy does, so the pool does not hand it out again."""
    dialect = conn.dialect
    disconnect = dialect.is_disconnect(err, conn.connection.driver_connection, cursor)
    if disconnect:
        conn.invalidate(err)
    return sa_exc.DBAPIError.instance(sql, params, err, dialect.loaded_dbapi.Error,
                                      connection_invalidated=disconnect, dialect=dialect)
