"""Rendering requested documents into stored, verifiable PDFs.

`document.request` (operations.py) numbers a document and records it as 'requested' in the
gate's transaction. `generate_pending` (called by the background scheduler) renders each one
outside any transaction, then stores PDF, SHA-256 and verification code in one short write that
only succeeds while the row is still 'requested' or 'failed': a document once generated never
changes, and a correction is a new document naming the one it replaces.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import uuid

from sqlalchemy import insert, select, update

from engine.schema import instances
from integrations import pdf

from .operations import next_number
from .schema import document_files, documents, enterprises, projects

log = logging.getLogger(__name__)

CODE_LENGTH = 10
SYSTEM_ACTOR = "system:documents"
MAX_ERROR_TEXT = 1000


class DocumentIssued(Exception):
    """The document has been generated already; it is never rendered again."""


class NotCorrectable(Exception):
    """A correction of a document that is not issued, or already corrected."""


def settings() -> dict:
    """Issuing authority and the public address printed in the QR code (environment)."""
    return {"authority": os.environ.get("JIANGUAN_AUTHORITY") or pdf.DEFAULT_AUTHORITY,
            "public_url": (os.environ.get("JIANGUAN_PUBLIC_URL")
                           or "http://127.0.0.1:5000").rstrip("/")}


def new_code() -> str:
    """10 base32 characters (50 random bits), no ambiguous 0/1/8/9 in that alphabet."""
    return base64.b32encode(secrets.token_bytes(8)).decode()[:CODE_LENGTH]


def verify_url(code: str, public_url: str | None = None) -> str:
    return f"{public_url or settings()['public_url']}/verify/{code}"


# -- the rendering context ---------------------------------------------------------------------

def _enterprise_names(conn, codes) -> dict:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    rows = conn.execute(select(enterprises.c.code, enterprises.c.name)
                        .where(enterprises.c.code.in_(codes))).all()
    return {r.code: r.name for r in rows}


def _project_context(conn, code: str | None) -> dict:
    row = conn.execute(select(projects).where(projects.c.code == code)).first() if code else None
    if row is None:
        return {"code": code or "", "name": "", "address": "", "builder": "", "contractor": "",
                "supervisor": ""}
    names = _enterprise_names(conn, (row.builder_code, row.contractor_code, row.supervisor_code))
    return {"code": row.code, "name": row.name, "address": row.address or "",
            "district": row.district, "builder": names.get(row.builder_code, ""),
            "contractor": names.get(row.contractor_code, ""),
            "supervisor": names.get(row.supervisor_code, "")}


def _addressee(kind: str, project: dict, variables: dict) -> str:
    if kind in ("supervision_plan", "briefing_record", "supervision_report"):
        return project["builder"]
    if kind == "talk_notice" and variables.get("talk_summoned"):
        return f"{project['contractor']} {variables['talk_summoned']}"
    return project["contractor"] or project["builder"]


def _inspectors(variables: dict) -> str:
    value = variables.get("inspectors")
    if isinstance(value, list):
        return "、".join(str(v.get("name", v)) if isinstance(v, dict) else str(v) for v in value)
    return str(value or "")


def base_variables(doc, inst) -> dict:
    """The snapshot kept on the document when there is one, else the instance's variables."""
    snapshot = (doc.data or {}).get("variables")
    return dict(snapshot if snapshot else (inst.variables if inst else {}) or {})


def build_context(conn, doc, code: str, conf: dict | None = None) -> dict:
    """Everything a template sees: the document, the project, the instance's variables
    (a snapshot in the document's data wins over the instance's current ones) and any
    corrected values."""
    conf = conf or settings()
    inst = conn.execute(select(instances.c.variables, instances.c.business_key,
                               instances.c.scope_key)
                        .where(instances.c.id == doc.instance_id)).first()
    data = doc.data or {}
    variables = base_variables(doc, inst)
    variables.update(data.get("changes") or {})
    project_code = variables.get("project_code") or (inst.scope_key or inst.business_key
                                                      if inst else None)
    project = _project_context(conn, project_code)
    replaced = None
    if doc.replaces:
        replaced = conn.execute(select(documents.c.number)
                                .where(documents.c.id == doc.replaces)).scalar()
    url = verify_url(code, conf["public_url"])
    return {
        "authority": conf["authority"],
        "doc": {"id": doc.id, "kind": doc.kind, "number": doc.number, "title": doc.title,
                "issued_on": doc.created_at, "replaces_number": replaced,
                "correction_reason": data.get("reason")},
        "project": project, "v": variables, "addressee": _addressee(doc.kind, project, variables),
        "inspectors": _inspectors(variables),
        "legal_basis": (conf.get("legal_basis") or {}).get(doc.kind),
        "verify": {"code": code, "url": url, "qr": pdf.qr_svg(url)},
        "snapshot": base_variables(doc, inst),
    }


# -- generation --------------------------------------------------------------------------------

def generate(engine, document_id: str) -> dict:
    """Render one requested (or failed) document and store it. Raises DocumentIssued for a
    document already generated; a rendering error marks it 'failed' with the reason (and is
    retried by the next pass) rather than losing it."""
    with engine.db.read() as conn:
        doc = conn.execute(select(documents).where(documents.c.id == document_id)).first()
        if doc is None:
            raise LookupError(f"文书不存在 (document {document_id} not found)")
        if doc.status == "generated":
            raise DocumentIssued(f"文书 {doc.number} 已出具, 不可重新生成 (already issued)")
        code = new_code()
        try:
            context = build_context(conn, doc, code)
        except Exception as exc:   # noqa: BLE001 - any fault is recorded on the document
            return _fail(engine, doc, exc)
    try:
        if not pdf.has_template(doc.kind):
            raise LookupError(f"缺少文书模板 (no template for kind '{doc.kind}')")
        data = pdf.render_pdf(doc.kind, context)
    except Exception as exc:   # noqa: BLE001
        return _fail(engine, doc, exc)
    return _store(engine, doc, code, data, context["snapshot"])


def issue_in(conn, now, record, doc) -> dict:
    """Render a new document (a row not yet written) and store it inside the caller's
    transaction: the gate's async service task (`document.request`), so the gate goes on
    only with its PDF stored, and a failure writes nothing (retry, then an incident).
    `record(kind, **details)` appends the audit event to that transaction."""
    code = new_code()
    context = build_context(conn, doc, code)
    if not pdf.has_template(doc.kind):
        raise LookupError(f"缺少文书模板 (no template for kind '{doc.kind}')")
    data = pdf.render_pdf(doc.kind, context)
    conn.execute(insert(documents).values(
        id=doc.id, instance_id=doc.instance_id, kind=doc.kind, number=doc.number,
        title=doc.title, status="requested", data=doc.data, created_at=doc.created_at))
    return _write(conn, now, record, doc, code, data, context["snapshot"])


def _store(engine, doc, code: str, data: bytes, snapshot: dict) -> dict:
    with engine.unit(SYSTEM_ACTOR) as unit:
        return _write(unit.conn, unit.now,
                      lambda kind, **details: unit.record(kind, doc.instance_id, None, **details),
                      doc, code, data, snapshot)


def _write(conn, now, record, doc, code: str, data: bytes, snapshot: dict) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    claimed = conn.execute(
        update(documents).where(documents.c.id == doc.id,
                                documents.c.status.in_(("requested", "failed")))
        .values(status="generated", sha256=digest, verify_code=code,
                data={**(doc.data or {}), "error": None, "variables": snapshot,
                      "generated_at": now.isoformat()}))
    if claimed.rowcount != 1:
        raise DocumentIssued(f"文书 {doc.number} 已由其他进程出具 (generated concurrently)")
    conn.execute(insert(document_files).values(document_id=doc.id, pdf=data,
                                               size=len(data), created_at=now))
    record("document.generated", document_id=doc.id, number=doc.number, sha256=digest,
           verify_code=code)
    return {"id": doc.id, "number": doc.number, "status": "generated", "sha256": digest,
            "verify_code": code, "size": len(data)}


def _fail(engine, doc, exc: Exception) -> dict:
    reason = f"文书生成失败 (rendering failed): {type(exc).__name__}: {exc}"[:MAX_ERROR_TEXT]
    log.warning("document %s %s: %s", doc.id, doc.number, reason)
    attempts = int((doc.data or {}).get("attempts", 0)) + 1
    with engine.unit(SYSTEM_ACTOR) as unit:
        unit.conn.execute(update(documents).where(documents.c.id == doc.id,
                                                  documents.c.status.in_(("requested", "failed")))
                          .values(status="failed",
                                  data={**(doc.data or {}), "error": reason, "attempts": attempts}))
        unit.record("document.failed", doc.instance_id, None, document_id=doc.id,
                    number=doc.number, error=reason)
    return {"id": doc.id, "number": doc.number, "status": "failed", "error": reason}


MAX_ATTEMPTS = 3


def generate_pending(engine, limit: int = 20) -> int:
    """One background pass: render the oldest requested documents (and failed ones with
    attempts left). Returns how many were generated; errors never escape."""
    with engine.db.read() as conn:
        rows = conn.execute(select(documents.c.id, documents.c.status, documents.c.data)
                            .where(documents.c.status.in_(("requested", "failed")))
                            .order_by(documents.c.created_at).limit(limit * 2)).all()
    todo = [r.id for r in rows if r.status == "requested"
            or int((r.data or {}).get("attempts", 0)) < MAX_ATTEMPTS][:limit]
    done = 0
    for document_id in todo:
        try:
            done += generate(engine, document_id)["status"] == "generated"
        except DocumentIssued:
            continue
        except Exception:   # noqa: BLE001 - a broken database must not stop the pass
            log.exception("document %s: generation pass failed", document_id)
    return done


# -- corrections and lookups -------------------------------------------------------------------

def correct(unit, document_id: str, changes: dict, reason: str) -> dict:
    """A new 'requested' document replacing an issued one: same kind and instance, the next
    number of its kind, the corrected values on top of the original's variables."""
    conn, now = unit.conn, unit.now
    doc = conn.execute(select(documents).where(documents.c.id == document_id)).first()
    if doc is None:
        raise LookupError(f"文书不存在 (document {document_id} not found)")
    if doc.status != "generated":
        raise NotCorrectable(f"文书 {doc.number} 尚未出具, 无需更正 (not issued yet)")
    successor = conn.execute(select(documents.c.number)
                             .where(documents.c.replaces == doc.id)).scalar()
    if successor:
        raise NotCorrectable(f"文书 {doc.number} 已被 {successor} 更正 (already corrected)")
    original = doc.data or {}
    new_id = str(uuid.uuid4())
    number = next_number(conn, doc.kind, now.year)
    conn.execute(insert(documents).values(
        id=new_id, instance_id=doc.instance_id, kind=doc.kind, number=number, title=doc.title,
        status="requested", replaces=doc.id, created_at=now,
        data={"element_id": original.get("element_id"), "variables": original.get("variables") or {},
              "changes": {**(original.get("changes") or {}), **changes}, "reason": reason,
              "corrected_by": unit.actor}))
    unit.record("document.corrected", doc.instance_id, None, document_id=new_id, number=number,
                replaces=doc.id, replaces_number=doc.number, reason=reason,
                changes=sorted(changes))
    return {"id": new_id, "number": number, "kind": doc.kind, "title": doc.title,
            "status": "requested", "replaces": doc.id}


def find_by_code(conn, code: str):
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        return None
    return conn.execute(select(documents).where(documents.c.verify_code == code)).first()


def successor_of(conn, document_id: str):
    return conn.execute(select(documents.c.id, documents.c.number, documents.c.status)
                        .where(documents.c.replaces == document_id)).first()


def pdf_of(conn, document_id: str) -> bytes | None:
    return conn.execute(select(document_files.c.pdf)
                        .where(document_files.c.document_id == document_id)).scalar()
