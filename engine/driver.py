"""The statements every engine step runs, on the driver's own cursor.

SQLAlchemy's execution path (cache look-up, parameter processing, result set-up) costs about
60 µs a statement where sqlite3's own call costs 3 (a SELECT with an expanding IN list, about
250 µs), and a step runs six to nine of them. These statements are compiled once per dialect;
their parameters and result columns go through the same type processors SQLAlchemy would
apply, the connection's cursor events still fire (the benchmarks count statements with them),
and a driver error becomes the same SQLAlchemy exception. A read's rows are named tuples with
a `_mapping`, read like SQLAlchemy's rows by attribute or by name.

On PostgreSQL the writes of one step go out in one pipeline: a round trip for all of them
instead of one each (psycopg's pipeline mode; results, errors and row counts arrive when the
pipeline ends).
"""
from __future__ import annotations

from collections import namedtuple
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import DateTime, exc as sa_exc
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
                is_time = isinstance(getattr(bind.type, "impl", bind.type), DateTime)
                self.processors[name] = _last_one(process) if is_time else process
        # columns with a Python-side default that the statement does not set: SQLAlchemy
        # computes them per execution, so here too (a scalar, or a callable of no context)
        prefetch = [(c, c.default) for c in getattr(compiled, "insert_prefetch", ())] + \
            [(c, c.onupdate) for c in getattr(compiled, "update_prefetch", ())]
        self.prefetch = {c.key: default for c, default in prefetch
                         if default is not None and c.key in compiled.binds}
        self.order = list(compiled.positiontup) if compiled.positional else None
        self.row = self.columns = self._types = None
        if getattr(statement, "is_select", False):
            selected = list(statement.selected_columns)
            self.row = _row_class([c.name for c in selected])
            self._types = [c.type.dialect_impl(dialect) for c in selected]
        self._dialect = dialect

    def rows(self, cursor) -> list:
        if self.columns is None:
            # some processors depend on the column's type as the driver reports it (numeric
            # on PostgreSQL): built from the first result's description, the same each time
            codes = [d[1] for d in cursor.description or ()] or [None] * len(self._types)
            self.columns = [t.result_processor(self._dialect, code)
                            for t, code in zip(self._types, codes)]
        processors, make = self.columns, self.row._make
        return [make([value if process is None else process(value)
                      for process, value in zip(processors, raw)])
                for raw in cursor.fetchall()]

    def parameters(self, given: dict):
        values = {**self.defaults, **given}
        for name, default in self.prefetch.items():
            if name not in given:
                values[name] = default.arg if default.is_scalar else default.arg(None)
        for name, process in self.processors.items():
            values[name] = process(values[name])
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


def _last_one(process):
    """A time's processor that remembers its last value: a step binds its own time (`now`)
    to five or more statements, and formatting it is the costliest parameter on SQLite.
    One (value, result) pair, swapped whole, so threads sharing the statement do not mix."""
    last = [(None, None)]

    def remembered(value):
        seen, result = last[0]
        if value is not None and value is seen:
            return result
        result = process(value)
        last[0] = (value, result)
        return result
    return remembered


def _row_class(names: list[str]):
    base = namedtuple("Row", names)
    return type("Row", (base,), {"__slots__": (),
                                 "_mapping": property(lambda self: self._asdict())})


class Prebuilt:
    """One statement for the driver: a write (INSERT, UPDATE, DELETE) or a SELECT, without
    expanding IN lists."""

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
        return Ran(self._execute(conn, self._compiled(conn.dialect), params))

    def all(self, conn: Connection, params: dict) -> list:
        """A SELECT's rows, their values processed as SQLAlchemy would."""
        compiled = self._compiled(conn.dialect)
        cursor = self._execute(conn, compiled, params)
        try:
            return compiled.rows(cursor)
        finally:
            cursor.close()

    def first(self, conn: Connection, params: dict):
        rows = self.all(conn, params)
        return rows[0] if rows else None

    @staticmethod
    def _execute(conn: Connection, compiled: _Compiled, params):
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
        return cursor


def all_together(conn: Connection, reads: list[tuple[Prebuilt, dict]]) -> list[list]:
    """The rows of several SELECTs, in order. On PostgreSQL they go out in one pipeline: one
    round trip instead of one each."""
    if conn.dialect.name != "postgresql":
        return [read.all(conn, params) for read, params in reads]
    sent = []
    with pipeline(conn):
        for read, params in reads:
            compiled = read._compiled(conn.dialect)
            sent.append((compiled, read._execute(conn, compiled, params)))
    try:
        return [compiled.rows(cursor) for compiled, cursor in sent]
    finally:
        for _compiled, cursor in sent:
            cursor.close()


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """The statements run inside go out together on PostgreSQL (psycopg's pipeline); their row
    counts, rows and any error arrive when the block ends. Elsewhere each runs as it comes."""
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
