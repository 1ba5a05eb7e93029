"""`flask verify-audit` and GET /api/v1/audit/verify: the keyed chain against the newest signed
checkpoint outside the database, and every issued document against its audit event.

A `document.generated` event records the SHA-256 of the PDF as issued; the stored file (and
the documents row's `sha256`) must still have it: a replaced PDF with its column rewritten is
seen here, because the event's hash is keyed and cannot be rewritten with them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select

from engine import audit, audit_anchor
from engine.schema import audit_events

from .schema import document_files, documents
from engine.i18n import _


@dataclass
class Report:
    ok: bool
    count: int
    first_bad_seq: int | None
    message: str
    checkpoint: int | None = None
    documents: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "count": self.count, "first_bad_seq": self.first_bad_seq,
                "message": self.message}


def check_documents(conn, batch: int = 500) -> tuple[int, list[tuple[int, str]]]:
    """(documents checked, [(event seq, problem)]) for every `document.generated` event."""
    checked, problems, last = 0, [], 0
    while True:
        events = conn.execute(select(audit_events.c.seq, audit_events.c.details).where(
            audit_events.c.kind == "document.generated", audit_events.c.seq > last)
            .order_by(audit_events.c.seq).limit(batch)).all()
        if not events:
            return checked, problems
        for event in events:
            details = event.details or {}
            doc_id, recorded = details.get("document_id"), details.get("sha256")
            number = details.get("number") or doc_id
            data = conn.execute(select(document_files.c.pdf).where(
                document_files.c.document_id == doc_id)).scalar()
            column = conn.execute(select(documents.c.sha256).where(
                documents.c.id == doc_id)).scalar()
            checked += 1
            if data is None:
                problems.append((event.seq, _("文书 {number} 的文件缺失").format(number=number)))
            elif hashlib.sha256(data).hexdigest() != recorded:
                problems.append((event.seq, _("文书 {number} 的文件与审计记录的 SHA-256 不符").format(
                                                number=number)))
            elif column != recorded:
                problems.append((event.seq, _("文书 {number} 的 sha256 字段与审计记录不符").format(
                                                number=number)))
        last = events[-1].seq


def verify_all(conn, key: bytes, anchor_dir: str) -> Report:
    try:
        checkpoint = audit_anchor.latest(anchor_dir, key)
    except audit_anchor.BadCheckpoint as exc:
        return Report(False, 0, None, f"审计链检查点无效: {exc}")
    anchor = (checkpoint.seq, checkpoint.hash) if checkpoint else None
    checked, broken = audit.verify(conn, key, checkpoint=anchor)
    at = checkpoint.seq if checkpoint else None
    if broken is not None:
        return Report(False, checked, broken.seq,
                      f"审计链在第 {broken.seq} 条事件处断裂: {broken.reason}", at)
    count, problems = check_documents(conn)
    if problems:
        seq, reason = problems[0]
        return Report(False, checked, seq, f"第 {seq} 条事件记录的文书被替换: {reason}", at,
                      count, [p for _line, p in problems])
    anchored = f"至检查点第 {at} 条" if at else _("尚无检查点")
    return Report(True, checked, None, f"审计链完整: 已校验 {checked} 条事件", at, count,
                  [_("{anchored}; 文书 {count} 份与记录一致").format(anchored=anchored, count=count)])
