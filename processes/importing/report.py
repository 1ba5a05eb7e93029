"""Excel files the import hands out: the template of a kind (its headers, and instructions on a
second sheet) and the report of a job (its counts, and each rejected row with its reasons)."""
from __future__ import annotations

import io

from sqlalchemy import select

from engine.errors import NotFound

from ..schema import import_jobs
from . import KINDS, MODES, kind_of
from engine.i18n import _

STATUS = {"done": "已导入", "rejected": "未导入 (存在错误, 全部成功才导入)", "checked": "仅校验, 未导入"}
TYPE_NAMES = {"str": "文本", "float": "数字", "date": _("日期"), "bool": "是/否",
              "choice": "选项"}


def _safe(value):
    """A text cell that Excel would take for a formula is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _book():
    from openpyxl import Workbook
    from openpyxl.styles import Font

    return Workbook(), Font(bold=True)


def _bytes(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_xlsx(kind_name: str) -> bytes:
    kind = kind_of(kind_name)
    book, bold = _book()
    sheet = book.active
    sheet.title = kind.label
    sheet.append([("*" if f.required else "") + f.label for f in kind.fields])
    for i, f in enumerate(kind.fields, start=1):
        sheet.cell(row=1, column=i).font = bold
        sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = \
            max(12, len(f.label) * 2 + 4)
    notes = book.create_sheet("填写说明")
    notes.append(["列名", "必填", "类型", "可填写的值 / 说明", "也可识别的列名"])
    for cell in notes[1]:
        cell.font = bold
    for f in kind.fields:
        allowed = "、".join(f.choice_labels()) if f.choices else ""
        if f.bounds:
            allowed = f"{f.bounds[0]} 至 {f.bounds[1]}"
        notes.append([f.label, "是" if f.required else "否", TYPE_NAMES.get(f.type, f.type),
                      allowed or f.hint, "、".join(f.aliases)])
    notes.append([])
    notes.append(["说明"])
    for line in ("第 1 行为列名, 从第 2 行起每行一条记录; 列的顺序不限, 带 * 的列必填。",
                 "只接受 .xlsx 或 .csv (UTF-8 或 GBK); 不接受公式和宏, 请粘贴为数值。",
                 "同一编号再次导入时更新已有记录, 内容相同则不变; 空白单元格不会清除已有的值。",
                 *kind.notes):
        notes.append([line])
    for col, width in zip("ABCDE", (22, 8, 18, 50, 30)):
        notes.column_dimensions[col].width = width
    return _bytes(book)


def job_row(conn, job_id: str):
    row = conn.execute(select(import_jobs).where(import_jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound(_("导入记录不存在: {job_id}").format(job_id=job_id))
    return row


def report_xlsx(conn, job_id: str) -> bytes:
    job = job_row(conn, job_id)
    kind = KINDS.get(job.kind)
    book, bold = _book()
    sheet = book.active
    sheet.title = "导入结果"
    for label, value in (("导入类型", kind.label if kind else job.kind), ("文件", job.filename),
                         ("导入方式", MODES.get(job.mode, job.mode)),
                         ("结果", STATUS.get(job.status, job.status)),
                         ("操作人", job.actor),
                         (_("时间"), job.created_at.strftime("%Y-%m-%d %H:%M:%S")),
                         ("总行数", job.total), ("新增", job.created), ("更新", job.updated),
                         ("未变化", job.unchanged), ("错误行数", job.failed)):
        sheet.append([label, _safe(value)])
        sheet.cell(row=sheet.max_row, column=1).font = bold
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 50
    errors = book.create_sheet("错误明细")
    errors.append(["行号", "编号", "错误说明"])
    for cell in errors[1]:
        cell.font = bold
    for item in job.errors or []:
        errors.append([item.get("row"), _safe(item.get("key") or ""),
                       _safe("; ".join(item.get("messages") or []))])
    if job.failed > len(job.errors or []):
        errors.append(["", "", f"仅列出前 {len(job.errors or [])} 行, 共 {job.failed} 行有错误"])
    errors.column_dimensions["B"].width = 24
    errors.column_dimensions["C"].width = 80
    return _bytes(book)
