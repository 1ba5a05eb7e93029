"""A tiny process whose only step is a document gate (an async `document.request`, as in
bpmn/) of the kind given at start, and the poppler tools that read the PDF as a person would."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile

from sqlalchemy import func, select

from processes.schema import documents, projects
from tests.bpmn import line, process_xml, service_task

DIAGRAM = process_xml("doc_gate", line(
    service_task("doc", "document.request", "document", [("kind", "str", "kind")],
                 name="出具文书", run_async=True)), name="出具文书")

PROJECT = "FS-CC-2026-001"


def deploy(api) -> None:
    r = api.deploy(files={"doc_gate.bpmn": DIAGRAM.encode()})
    assert r.status_code == 201, r.get_json()


def request_document(api, kind: str, facts: dict, project: str = PROJECT) -> tuple[str, dict]:
    """Start the gate (the test worker runs its async task at once); returns the instance id
    and its document row as the API lists it."""
    r = api.start("doc_gate", project, {"project_code": project, "kind": kind, **facts})
    assert r.status_code == 201, r.get_json()
    instance_id = r.get_json()["id"]
    listed = api.get(f"/api/v1/instances/{instance_id}/documents").get_json()
    assert [d["kind"] for d in listed] == [kind]
    return instance_id, listed[0]


def issue(api, engine, kind: str, facts: dict, project: str = PROJECT) -> tuple[str, dict]:
    instance_id, doc = request_document(api, kind, facts, project)
    assert doc["status"] == "generated"
    assert api.instance(instance_id)["state"] == "completed"      # the gate went on with it
    with engine.db.read() as conn:                                 # nothing left unrendered
        assert conn.execute(select(func.count()).select_from(documents).where(
            documents.c.status != "generated")).scalar() == 0
    return instance_id, doc


def _poppler(tool: str, data: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "doc.pdf")
        with open(path, "wb") as fh:
            fh.write(data)
        return subprocess.run([tool, *args, path, "-"] if tool == "pdftotext" else
                              [tool, *args, path], check=True, capture_output=True,
                              text=True).stdout


def pdf_text(data: bytes) -> str:
    """The text as extracted, with the layout's line breaks and spaces removed."""
    return "".join(_poppler("pdftotext", data).split())


def pdf_fonts(data: bytes) -> list[dict]:
    lines = _poppler("pdffonts", data).splitlines()[2:]
    fonts = []
    for line in lines:
        parts = line.split()
        # name, type (may be several words), encoding, emb, sub, uni, object, id
        fonts.append({"name": parts[0], "type": " ".join(parts[1:-6]), "embedded": parts[-5]})
    return fonts


def printed_code(text: str) -> str:
    match = re.search(r"文书验证码：([A-Z2-7]{10})", text)
    assert match, "no verification code printed"
    return match.group(1)


def project_name(engine, code: str = PROJECT) -> str:
    with engine.db.read() as conn:
        return conn.execute(select(projects.c.name).where(projects.c.code == code)).scalar_one()
