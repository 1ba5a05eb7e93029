"""Data import from the districts' systems (各区局现有系统数据统一迁移): projects, enterprises,
people, devices, cranes and open rectifications from CSV or Excel files.

One import: read the file safely (`common.read_table`), match its headers to the kind's fields
(proposed by header name, or as the person mapped them), check every cell and reference, then
write, all rows or none (`mode="all"`) or the valid rows only (`mode="valid"`), keyed by
natural keys so a second import of the same file changes nothing. Each import leaves a job
row with its counts and per-row errors; `report.report_xlsx` is that report as Excel.
"""
from __future__ import annotations

import uuid
from typing import Callable

from sqlalchemy import insert

from engine.clock import utcnow
from engine.errors import Invalid

from ..schema import import_jobs
from .common import ERRORS_KEPT, Limits, check_mapping, parse_rows, propose_mapping, read_table
from .cranes import Cranes
from .devices import Devices
from .enterprises import Enterprises
from .people import People
from .projects import Projects
from .rectifications import Rectifications
from engine.i18n import _

KINDS = {k.name: k() for k in (Projects, Enterprises, People, Devices, Cranes, Rectifications)}
MODES = {"all": "全部成功才导入", "valid": "只导入校验通过的行"}
OUTCOMES = {"created": "新增", "updated": "更新", "unchanged": "未变化", "error": "错误"}


def kind_of(name: str):
    try:
        return KINDS[name]
    except KeyError:
        raise Invalid(_("未知的导入类型 {name}, 应为 {value} 之一").format(name=name, value='、'.join(KINDS)),
                      {"kind": [f"应为 {', '.join(KINDS)} 之一"]}) from None


def run_import(engine, kind_name: str, filename: str, data: bytes, actor: str,
               mapping: dict[str, str | None] | None = None, mode: str = "all",
               dry_run: bool = False, limits: Limits = Limits(),
               progress: Callable[[int], None] | None = None,
               on_rows: Callable[[int], None] | None = None) -> dict:
    """Import (or, `dry_run`, only check) one file; the job as a dict. Invalid (422) for a
    file that cannot be read or a mapping that cannot work; a row's problems are in the
    job's errors, never an exception. `progress(n)` is called as rows are parsed and written
    (each row twice: once checked, once applied); `on_rows(n)` once the file's rows are
    counted."""
    kind = kind_of(kind_name)
    if mode not in MODES:
        raise Invalid(_("导入方式应为 all (全部成功才导入) 或 valid (只导入校验通过的行)"),
                      {"mode": ["应为 all 或 valid"]})
    table = read_table(filename, data, limits)
    if on_rows:
        on_rows(len(table.rows))
    proposed = propose_mapping(kind.fields, table.headers)
    used = proposed if mapping is None else {h: (mapping.get(h) or None) for h in table.headers}
    index = check_mapping(kind.fields, table.headers, used)
    rows = parse_rows(kind.fields, kind.key, table, index, progress)
    with engine.db.read() as conn:
        kind.check(conn, rows)
    bad = [r for r in rows if r.errors]
    good = [r for r in rows if not r.errors]
    job_id = str(uuid.uuid4())
    all_or_nothing = mode == "all"
    rejected = all_or_nothing and bool(bad)
    kind.apply(engine, actor, good, dry_run or rejected, progress=progress,
               all_or_nothing=all_or_nothing, job_id=job_id)
    bad = [r for r in rows if r.errors]          # the engine may refuse a row while applying
    rejected = rejected or (all_or_nothing and bool(bad))
    for row in bad:
        row.outcome = "error"
    counts = {name: sum(1 for r in rows if r.outcome == name)
              for name in ("created", "updated", "unchanged")}
    if rejected and not dry_run:
        counts = dict.fromkeys(counts, 0)      # nothing was written
    status = "checked" if dry_run else "rejected" if rejected else "done"
    job = {"id": job_id, "kind": kind.name, "filename": (filename or "")[:200], "mode": mode,
           "status": status, "actor": actor, "created_at": utcnow(), "total": len(rows),
           "failed": len(bad), "mapping": used, **counts,
           "errors": [{"row": r.line, "key": r.key, "messages": r.errors}
                      for r in bad[:ERRORS_KEPT]]}
    with engine.unit(actor) as unit:
        unit.conn.execute(insert(import_jobs).values(**job))
        unit.record("import.job", what=kind.name, job=job_id, status=status, total=len(rows),
                    failed=len(bad), **counts)
    return {**job, "headers": table.headers, "proposed": proposed,
            "errors_truncated": len(bad) > ERRORS_KEPT}


__all__ = ["KINDS", "MODES", "OUTCOMES", "Limits", "kind_of", "run_import"]
