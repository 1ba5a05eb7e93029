"""Issuing documents: number, render and store a verifiable PDF in the caller's transaction.

There is one path. A gate's `document.request` (operations.py, an async service task run by a
worker) and a correction (`correct`, asked by an inspector) both call `issue_in`: the PDF is
rendered before anything is written and stored with its SHA-256 and verification code in the
same transaction, so a rendering failure leaves no row and no used number (a gate retries,
then opens an incident; a correction answers with the error). A document once issued never
changes; a correction is a new document naming the one it replaces.

The domain renders through the `Renderer` interface; the app registers the implementation
(integrations.pdf.PdfRenderer) and the issuer's settings with `register_renderer`.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Protocol

from sqlalchemy import insert, select, update

from engine.errors import Conflict, EngineError
from engine.schema import instances

from . import corrections
from .operations import next_number
from .schema import document_files, documents, enterprises, projects
from engine.i18n import _

log = logging.getLogger(__name__)

CODE_LENGTH = 10
SYSTEM_ACTOR = "system:documents"


class Renderer(Protocol):
    """What the domain needs to turn a document into a PDF."""

    def has_template(self, kind: str) -> bool: ...

    def render(self, kind: str, context: dict) -> bytes: ...

    def qr_svg(self, url: str) -> str: ...


@dataclass(frozen=True)
class Issuer:
    """Printed on every document: who issues it, and where its code is checked."""
    authority: str
    public_url: str


_registered: tuple[Renderer, Issuer] | None = None


# Without a configured public URL the QR code points to the host people reach the web on
# (learned from requests); a process that has seen no request yet falls back to localhost.
FALLBACK_PUBLIC_URL = "http://127.0.0.1:5000"
_learned_url: str | None = None


def register_renderer(renderer: Renderer, issuer: Issuer) -> None:
    global _registered
    _registered = (renderer, Issuer(issuer.authority, (issuer.public_url or "").rstrip("/")))


def learn_public_url(origin: str) -> None:
    """The web tells the origin of a request (scheme://host), used when none is configured."""
    global _learned_url
    if origin and (_registered is None or not _registered[1].public_url):
        _learned_url = origin.rstrip("/")


def _office() -> tuple[Renderer, Issuer]:
    if _registered is None:
        raise RenderFailed(_("未注册文书渲染器"))
    return _registered


def issuer() -> Issuer:
    return _office()[1]


class RenderFailed(EngineError):
    """The PDF could not be made; nothing was written."""
    status = 503


class NotCorrectable(Conflict):
    """A correction of a document that is not issued, or already corrected."""


def new_code() -> str:
    """10 base32 characters (50 random bits), no ambiguous 0/1/8/9 in that alphabet."""
    return base64.b32encode(secrets.token_bytes(8)).decode()[:CODE_LENGTH]


def verify_url(code: str, public_url: str | None = None) -> str:
    base = public_url or issuer().public_url or _learned_url or FALLBACK_PUBLIC_URL
    return f"{base}/verify/{code}"


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


def build_context(conn, doc, code: str, office: tuple[Renderer, Issuer] | None = None) -> dict:
    """Everything a template sees: the document, the project, the instance's variables
    (a snapshot in the document's data wins over the instance's current ones) and any
    corrected values."""
    renderer, issued_by = office or _office()
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
    url = verify_url(code, issued_by.public_url)
    return {
        "authority": issued_by.authority,
        "doc": {"id": doc.id, "kind": doc.kind, "number": doc.number, "title": doc.title,
                "issued_on": doc.created_at, "replaces_number": replaced,
                "correction_reason": data.get("reason")},
        "project": project, "v": variables, "addressee": _addressee(doc.kind, project, variables),
        "inspectors": _inspectors(variables),
        "verify": {"code": code, "url": url, "qr": renderer.qr_svg(url)},
        "snapshot": base_variables(doc, inst),
    }


# -- issuing -----------------------------------------------------------------------------------

def issue_in(conn, now, record, doc, existing: bool = False) -> dict:
    """Render `doc` (a row not yet written, or an unrendered one when `existing`) and store
    it, PDF and all, in the caller's transaction; `record(kind, **details)` appends the
    audit event to it. Raises RenderFailed, having written nothing, when no PDF comes out."""
    office = _office()
    renderer = office[0]
    code = new_code()
    try:
        context = build_context(conn, doc, code, office)
        if not renderer.has_template(doc.kind):
            raise LookupError(_("缺少文书模板: {kind}").format(kind=doc.kind))
        data = renderer.render(doc.kind, context)
    except Exception as exc:      # noqa: BLE001 - the caller's transaction rolls back
        raise RenderFailed(_("文书 {number} 生成失败: {name}: {value}").format(
                               number=doc.number, name=type(exc).__name__, value=str(exc)[:500])) from exc
    digest = hashlib.sha256(data).hexdigest()
    values = dict(status="generated", sha256=digest, verify_code=code,
                  data={**(doc.data or {}), "error": None, "variables": context["snapshot"],
                        "generated_at": now.isoformat()})
    if existing:
        conn.execute(update(documents).where(documents.c.id == doc.id).values(**values))
    else:
        conn.execute(insert(documents).values(
            id=doc.id, instance_id=doc.instance_id, kind=doc.kind, number=doc.number,
            title=doc.title, replaces=doc.replaces, created_at=doc.created_at, **values))
    conn.execute(insert(document_files).values(document_id=doc.id, pdf=data, size=len(data),
                                               created_at=now))
    record("document.generated", document_id=doc.id, number=doc.number, sha256=digest,
           verify_code=code)
    return {"id": doc.id, "number": doc.number, "status": "generated", "sha256": digest,
            "verify_code": code, "size": len(data)}


def issue_leftovers(engine) -> int:
    """Documents an earlier version left 'requested' or 'failed' (it rendered corrections on a
    background pass): issued now, each in its own transaction, by the same path. Run by
    `flask setup`; a document that still fails stays as it is and is logged."""
    with engine.db.read() as conn:
        ids = list(conn.execute(select(documents.c.id).where(
            documents.c.status.in_(("requested", "failed")))).scalars())
    issued = 0
    for document_id in ids:
        try:
            with engine.unit(SYSTEM_ACTOR) as unit:
                doc = unit.conn.execute(select(documents).where(
                    documents.c.id == document_id)).first()
                issue_in(unit.conn, unit.now, lambda kind, **d: unit.record(
                    kind, doc.instance_id, None, **d), doc, existing=True)
            issued += 1
        except RenderFailed as exc:
            log.warning("document %s not issued: %s", document_id, exc.message)
    return issued


# -- corrections and lookups -------------------------------------------------------------------

def correct(unit, document_id: str, changes: dict, reason: str, forms: list[dict]) -> dict:
    """A new document replacing an issued one, issued at once by the gates' path: same kind and
    instance, the next number of its kind, the corrected values over the original's
    variables. `forms` are the document's forms (`forms_of`): a change is one of their own
    fields, cleaned by them with their limits; identity fields never change."""
    conn, now = unit.conn, unit.now
    doc = conn.execute(select(documents).where(documents.c.id == document_id)).first()
    if doc is None:
        raise LookupError(_("文书不存在: {document_id}").format(document_id=document_id))
    changes = corrections.clean(forms, changes)
    if doc.status != "generated":
        raise NotCorrectable(_("文书 {number} 尚未出具, 无需更正").format(number=doc.number))
    successor = conn.execute(select(documents.c.number)
                             .where(documents.c.replaces == doc.id)).scalar()
    if successor:
        raise NotCorrectable(_("文书 {number} 已被 {successor} 更正").format(
                                 number=doc.number, successor=successor))
    original = doc.data or {}
    number = next_number(conn, doc.kind, now.year)
    new = SimpleNamespace(
        id=str(uuid.uuid4()), instance_id=doc.instance_id, kind=doc.kind, number=number,
        title=doc.title, replaces=doc.id, created_at=now,
        data={"element_id": original.get("element_id"),
              "variables": original.get("variables") or {},
              "changes": {**(original.get("changes") or {}), **changes}, "reason": reason,
              "corrected_by": unit.actor})
    unit.record("document.corrected", doc.instance_id, None, document_id=new.id, number=number,
                replaces=doc.id, replaces_number=doc.number, reason=reason,
                changes=sorted(changes))
    return issue_in(conn, now, lambda kind, **d: unit.record(kind, doc.instance_id, None, **d), new)


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
