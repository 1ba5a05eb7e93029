"""Files uploaded for a task's form (photos, scanned plans): type and size checked by content,
stored with their SHA-256, and referenced from form data by id."""
from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import insert, select, update

from .errors import Invalid, NotFound
from .schema import attachments
from .store import Unit
from engine.i18n import _

MAX_BYTES = 20 * 1024 * 1024
# Magic numbers, not the client's claim: a renamed executable is not a photo.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"), (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),   # docx/xlsx are zip containers
)
OFFICE = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def sniff(file_name: str, data: bytes) -> str | None:
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            if kind == "application/zip":
                ext = file_name[file_name.rfind("."):].lower() if "." in file_name else ""
                return OFFICE.get(ext)
            return kind
    if data[:12].startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def store(unit: Unit, task_row, file_name: str, data: bytes, field: str | None) -> dict:
    if not data:
        raise Invalid(_("文件为空"), {"file": [_("文件为空")]})
    if len(data) > MAX_BYTES:
        raise Invalid(_("文件超过 20 MB"), {"file": [_("文件超过 20 MB")]})
    kind = sniff(file_name, data)
    if kind is None:
        raise Invalid(_("仅支持 JPG/PNG/GIF/WEBP 图片、PDF 和 Word/Excel 文件"),
                      {"file": [_("文件类型不支持")]})
    attachment_id = str(uuid.uuid4())
    digest = hashlib.sha256(data).hexdigest()
    name = (file_name or "file").replace("/", "_").replace("\\", "_")[-200:]
    unit.conn.execute(insert(attachments).values(
        id=attachment_id, sha256=digest, file_name=name, content_type=kind, size=len(data),
        data=data, uploaded_by=unit.actor, instance_id=task_row.instance_id,
        task_id=task_row.id, field=field, used=False, uploaded_at=unit.now))
    unit.record("attachment.uploaded", task_row.instance_id, task_row.id, attachment=attachment_id,
                file=name, sha256=digest, size=len(data), content_type=kind)
    return {"id": attachment_id, "file_name": name, "content_type": kind, "size": len(data),
            "sha256": digest}


def listed(conn, instance_id: str) -> list[dict]:
    rows = conn.execute(select(attachments.c.id, attachments.c.file_name,
                               attachments.c.content_type, attachments.c.size,
                               attachments.c.sha256, attachments.c.task_id, attachments.c.field,
                               attachments.c.uploaded_by, attachments.c.uploaded_at)
                        .where(attachments.c.instance_id == instance_id)
                        .order_by(attachments.c.uploaded_at)).all()
    return [dict(r._mapping) for r in rows]


def fetch(conn, attachment_id: str):
    row = conn.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
    if row is None:
        raise NotFound(_("附件不存在: {attachment_id}").format(attachment_id=attachment_id))
    return row


def check_references(conn, task_row, ids: list[str]) -> dict:
    """Field errors for attachment ids that are not this instance's uploads."""
    if not ids:
        return {}
    found = set(conn.execute(select(attachments.c.id).where(
        attachments.c.id.in_(ids), attachments.c.instance_id == task_row.instance_id)).scalars())
    missing = [i for i in ids if i not in found]
    return {"attachments": [_("附件不存在或不属于本流程: {value}").format(value=', '.join(missing[:5]))]} if missing else {}


def mark_used(conn, ids: list[str]) -> None:
    if ids:
        conn.execute(update(attachments).where(attachments.c.id.in_(ids)).values(used=True))
