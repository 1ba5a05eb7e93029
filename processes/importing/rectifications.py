"""在办整改: a district's open rectifications become running `rectification` instances at the
step they have reached there, the contractor's reply, with their deadline.

Each is started as an inspector starts one and its notice is issued through the same task
(`rect_notice`): the form and the process's own deadline check hold, the notice is numbered
and rendered by the document gate, and the reply task waits with its overdue timer on the
deadline. The district's number (原整改单号) is kept in `import_refs` with the instance it
started, so importing the file again starts nothing new.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from sqlalchemy import insert, select

from engine import instances, tasks
from engine.clock import utcnow
from engine.errors import EngineError
from engine.schema import tasks as task_rows
from forms.checks import LOCAL_ZONE

from ..schema import import_refs, projects
from .common import Field, Row, chunks
from .records import check_references
from engine.i18n import _

PROCESS = "rectification"
NOTICE_STEP = "rect_notice"


class Rectifications:
    name, label, key = "rectifications", "在办整改", "ref"
    fields = (
        Field("ref", "原整改单号", required=True, max_len=100, aliases=("整改单号", "通知书编号")),
        Field("project_code", "项目编号", required=True, max_len=50, aliases=("工程编号",)),
        Field("rect_location", "整改部位", required=True, aliases=("部位",)),
        Field("rect_issue", "存在问题", required=True, max_len=2000, aliases=("问题", "隐患描述")),
        Field("rect_clause", "违反条款", max_len=300, aliases=("依据",)),
        Field("rect_requirement", "整改要求", required=True, max_len=2000),
        Field("deadline", "整改期限", required=True, type="date", aliases=("期限", "限改日期")),
        Field("stop_work", "是否责令停工", type="bool", aliases=("停工",)),
    )
    notes = ("每行一份尚未闭合的整改通知; 导入后在平台上由施工单位回复整改, 逾期按期限计。",
             "整改期限须晚于今天; 已逾期的整改请先在原系统重新限定期限。",
             "原整改单号用于识别重复导入: 已导入的单号再次导入不会重复发起。")

    def check(self, conn, rows: list[Row]) -> None:
        today = utcnow().astimezone(LOCAL_ZONE).date().isoformat()
        for row in rows:
            deadline = row.values.get("deadline")
            if deadline and deadline <= today:
                row.errors.append(f"整改期限 {deadline} 须晚于今天 {today}")
        check_references(conn, rows, {"project_code": (projects.c.code, "项目")})

    def apply(self, engine, actor: str, rows: list[Row], dry_run: bool,
              progress: Callable[[int], None] | None = None, all_or_nothing: bool = True,
              job_id: str = "") -> None:
        with engine.db.read() as conn:
            known = set()
            for batch in chunks([r.key for r in rows]):
                known.update(conn.execute(select(import_refs.c.ref).where(
                    import_refs.c.kind == self.name, import_refs.c.ref.in_(batch))).scalars())
        fresh = [r for r in rows if r.key not in known]
        for row in rows:
            row.outcome = "unchanged" if row.key in known else "created"
        if dry_run or not fresh:
            if progress:
                progress(len(rows))
            return
        started: list[str] = []
        if all_or_nothing:
            try:
                with engine.unit(actor) as unit:
                    for row in fresh:
                        started.append(self._start(engine, unit, job_id, row))
                        if progress:
                            progress(1)
            except EngineError:
                started = []
        else:
            for row in fresh:
                try:
                    with engine.unit(actor) as unit:
                        started.append(self._start(engine, unit, job_id, row))
                except EngineError as exc:
                    self._failed(row, exc)
                if progress:
                    progress(1)
        if progress:
            progress(len(rows) - len(fresh))
        if engine.wake is None:
            _render_notices(engine, started)

    def _start(self, engine, unit, job_id: str, row: Row) -> str:
        values = row.values
        try:
            handle = instances.start(engine, unit, PROCESS, values["project_code"], {
                "project_code": values["project_code"], "import_ref": row.key})
            task_id = unit.conn.execute(select(task_rows.c.id).where(
                task_rows.c.instance_id == handle.id, task_rows.c.state == "open",
                task_rows.c.element_id == NOTICE_STEP)).scalar()
            if task_id is None:
                raise EngineError(_("整改流程未停在下达整改通知步骤, 无法导入"))
            tasks.complete(engine, unit, task_id, {
                "rect_location": values["rect_location"], "rect_issue": values["rect_issue"],
                "rect_clause": values.get("rect_clause") or "",
                "rect_requirement": values["rect_requirement"],
                "deadline": values["deadline"], "stop_work": bool(values.get("stop_work"))})
        except EngineError as exc:
            self._failed(row, exc)
            raise
        unit.conn.execute(insert(import_refs).values(kind=self.name, ref=row.key,
                                                     target=handle.id, job_id=job_id))
        unit.record("import.rectification", handle.id, ref=row.key)
        return handle.id

    @staticmethod
    def _failed(row: Row, exc: EngineError) -> None:
        details = [f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                   for k, v in (exc.errors or {}).items()]
        row.errors.append("发起整改失败: " + exc.message + (f" ({'; '.join(details)})"
                                                      if details else ""))
        row.outcome = "error"


def _render_notices(engine, instance_ids: list[str]) -> None:
    """Without a background worker (the command line), the notices' document gates run here,
    so the imported rectifications wait at the reply step when the command ends."""
    from engine.timers import JobPostponed, fire_instance

    for instance_id in instance_ids:
        try:
            fire_instance(engine, instance_id, actor="system:worker")
        except JobPostponed:
            continue


def soon() -> str:
    """A deadline after today (for templates and tests)."""
    return (utcnow().astimezone(LOCAL_ZONE) + timedelta(days=7)).date().isoformat()
