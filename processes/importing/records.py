"""A kind whose rows are records of one table, keyed by a natural key: a row whose key is new
is inserted, one whose mapped cells differ is updated, one that matches is left alone, so the
same file imported twice changes nothing the second time."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Table, bindparam, insert, select, update

from .common import Field, Row, changes, chunks


class TableKind:
    name: str = ""
    label: str = ""
    key: str = ""                          # the natural key's field
    fields: tuple[Field, ...] = ()
    table: Table
    defaults: dict[str, Any] = {}          # columns a new record needs that no file carries
    notes: tuple[str, ...] = ()            # shown in the template's instructions

    def check(self, conn, rows: list[Row]) -> None:
        """References to other records (the rows here are valid so far); adds row errors."""

    def new_values(self, row: Row) -> dict:
        # every row of a file has the same keys: one executemany per batch
        values = {f.name: row.values.get(f.name) for f in self.fields if f.name in row.values}
        return {**self.defaults, **{k: v for k, v in values.items()
                                    if v is not None or k not in self.defaults}}

    def updatable(self) -> list[str]:
        return [f.name for f in self.fields if f.name != self.key]

    def apply(self, engine, actor: str, rows: list[Row], dry_run: bool,
              progress: Callable[[int], None] | None = None, all_or_nothing: bool = True,
              job_id: str = "") -> None:
        """Sets each row's outcome and, unless a dry run, writes them in one transaction."""
        if dry_run:
            with engine.db.read() as conn:
                self._apply(conn, rows, False, progress)
            return
        with engine.unit(actor) as unit:
            counts = self._apply(unit.conn, rows, True, progress)
            unit.record("import.applied", what=self.name, job=job_id, **counts)

    def _apply(self, conn, rows: list[Row], write: bool, progress) -> dict:
        column = self.table.c[self.key]
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for batch in chunks(rows, 1000):
            current = {str(r._mapping[self.key]): r._mapping for r in conn.execute(
                select(self.table).where(column.in_([r.key for r in batch])))}
            inserts: list[dict] = []
            updates: dict[tuple, list[dict]] = {}
            for row in batch:
                existing = current.get(row.key)
                if existing is None:
                    row.outcome = "created"
                    inserts.append(self.new_values(row))
                    continue
                diff = changes(row, existing, self.updatable())
                row.outcome = "updated" if diff else "unchanged"
                if diff:
                    updates.setdefault(tuple(sorted(diff)), []).append(
                        {**{f"v_{k}": v for k, v in diff.items()}, "k_key": row.key})
            for row in batch:
                counts[row.outcome] += 1
            if write:
                if inserts:
                    conn.execute(insert(self.table), inserts)
                for names, params in updates.items():
                    conn.execute(update(self.table).where(column == bindparam("k_key")).values(
                        {n: bindparam(f"v_{n}") for n in names}), params)
            if progress:
                progress(len(batch))
        return counts


def existing_codes(conn, column, codes: set[str]) -> set[str]:
    """Which of these codes are in the column (looked up a thousand at a time)."""
    found: set[str] = set()
    for batch in chunks(sorted(codes)):
        found.update(str(v) for v in conn.execute(select(column).where(column.in_(batch)))
                     .scalars())
    return found


def check_references(conn, rows: list[Row], refs: dict[str, tuple[Any, str]]) -> None:
    """Each field that names another record (field -> (its column, what it is)) must name
    one that exists."""
    candidates = [r for r in rows if not r.errors]
    for name, (column, noun) in refs.items():
        wanted = {r.values[name] for r in candidates if r.values.get(name)}
        if not wanted:
            continue
        known = existing_codes(conn, column, wanted)
        for row in candidates:
            value = row.values.get(name)
            if value and value not in known:
                row.errors.append(f"{noun} {value} 不存在, 请先导入{noun}")
