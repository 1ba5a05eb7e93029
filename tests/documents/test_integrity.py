"""What makes a document trustworthy: escaped input, no fetching, never re-rendered, scoped
access, corrections as new documents, and the public check of a printed code."""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine.clock import clock
from engine.timers import fire_due
from integrations import pdf
from processes import documents as docs
from processes.schema import document_files, documents
from settings import DEFAULT_AUTHORITY

from .helpers import deploy, issue, pdf_text, printed_code

HOSTILE = ('<img src="http://127.0.0.1:9/track.png"><b>加粗</b></td></tr></table>'
           '<h1>伪造标题</h1><link rel="stylesheet" href="file:///etc/passwd">{{ 7*7 }}')


def test_markup_in_a_contractor_field_renders_as_text(api, engine):
    deploy(api)
    _, doc = issue(api, engine, "rectification_notice",
                   {"rect_issue": HOSTILE, "rect_requirement": "按要求整改", "deadline": "2026-11-30"})
    body = pdf_text(api.get(f"/api/v1/documents/{doc['id']}").get_data())
    assert '<b>加粗</b></td></tr></table><h1>伪造标题</h1>' in body
    assert 'href="file:///etc/passwd">{{7*7}}' in body


def test_the_renderer_fetches_only_its_own_files():
    fetcher = pdf.SafeFetcher()
    css = fetcher.fetch("file://" + pdf.DOCUMENT_TEMPLATES + "/document.css")
    assert b"@page" in css.read()
    for url in ("http://127.0.0.1:9/x.png", "https://example.com/a.css", "data:text/css,a{}",
                "file:///etc/passwd", "file://" + pdf.DOCUMENT_TEMPLATES + "/../../../app.py",
                "ftp://example.com/x"):
        with pytest.raises(pdf.FetchRefused):
            fetcher.fetch(url)


def test_chinese_dates():
    assert pdf.chinese_date(date(2026, 11, 25)) == "二〇二六年十一月二十五日"
    assert pdf.chinese_date("2026-01-10") == "二〇二六年一月十日"
    assert pdf.chinese_date("2030-10-31T20:00:00+00:00") == "二〇三〇年十一月一日"   # China time
    assert pdf.chinese_date("尽快") == "尽快"


def test_an_issued_document_is_never_rendered_again(api, engine):
    deploy(api)
    _, doc = issue(api, engine, "talk_notice", {"talk_summoned": "项目负责人周某"})
    first = api.get(f"/api/v1/documents/{doc['id']}").get_data()
    assert docs.issue_leftovers(engine) == 0              # `flask setup` renders nothing again
    again = api.get(f"/api/v1/documents/{doc['id']}").get_data()
    assert again == first and hashlib.sha256(again).hexdigest() == doc["sha256"]
    stored = select(document_files.c.document_id, document_files.c.size, document_files.c.pdf)
    with engine.db.read() as conn:
        files = conn.execute(stored).all()
    assert [(f.document_id, f.pdf) for f in files] == [(doc["id"], first)]
    for statement in ("UPDATE document_files SET size = 1",
                      "UPDATE document_files SET pdf = pdf || pdf", "DELETE FROM document_files"):
        with pytest.raises(DBAPIError, match="issued documents never change"):
            with engine.db.write() as conn:      # the database itself refuses
                conn.execute(text(statement))
    with engine.db.read() as conn:
        assert conn.execute(stored).all() == files
    assert api.get(f"/api/v1/documents/{doc['id']}").get_data() == first


def test_only_those_who_see_the_instance_get_the_pdf(api, engine):
    deploy(api)
    _, doc = issue(api, engine, "rectification_notice", {"rect_issue": "临边防护缺失"})
    url = f"/api/v1/documents/{doc['id']}"
    assert api.get(url, as_user="contractor_gdjg").status_code == 200
    assert api.get(url, as_user="supervisor_hn").status_code == 200
    assert api.get(url, as_user="inspector_cc").status_code == 200
    refused = api.get(url, as_user="contractor_zj3")
    assert refused.status_code == 403 and "无权" in refused.get_json()["message"]
    assert api.client.get(url).status_code == 401
    assert api.get("/api/v1/documents/no-such-id").status_code == 404


class BrokenRenderer(pdf.PdfRenderer):
    def render(self, kind, context):
        raise RuntimeError("font cache unavailable")


def test_the_gate_waits_for_its_pdf_and_a_rendering_failure_is_an_incident(api, engine):
    deploy(api)
    engine.wake = None                        # no worker: the gate stays where it is
    engine.settings.job_attempts, engine.settings.job_backoff_seconds = 2, 30
    r = api.start("doc_gate", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001",
                                                 "kind": "supervision_plan", "key_risks": "高支模"})
    instance_id = r.get_json()["id"]
    inst = api.instance(instance_id)
    assert inst["state"] == "running" and [w["type"] for w in inst["waiting"]] == ["job"]
    assert api.get(f"/api/v1/instances/{instance_id}/documents").get_json() == []

    issuer = docs.issuer()
    docs.register_renderer(BrokenRenderer(), issuer)
    try:
        fire_due(engine)                                       # first try: rolled back
        assert api.get(f"/api/v1/instances/{instance_id}/documents").get_json() == []
        assert api.instance(instance_id)["waiting"][0]["attempts"] == 1
        clock.advance(timedelta(seconds=31))
        fire_due(engine)                                       # last try: an incident
    finally:
        docs.register_renderer(pdf.PdfRenderer(), issuer)
    inst = api.instance(instance_id)
    assert inst["state"] == "error"
    assert "font cache unavailable" in inst["incidents"][0]["message"]
    assert inst["incidents"][0]["element_id"] == "doc"
    history = str(api.get(f"/api/v1/instances/{instance_id}/history").get_json())
    assert "job.failed" in history and "incident.opened" in history
    assert api.get(f"/api/v1/instances/{instance_id}/documents").get_json() == []

    r = api.post(f"/api/v1/instances/{instance_id}/retry", as_user="admin")
    assert r.status_code == 200, r.get_json()
    assert api.instance(instance_id)["state"] == "completed"
    listed = api.get(f"/api/v1/instances/{instance_id}/documents").get_json()
    assert [(d["status"], d["number"][-6:]) for d in listed] == [("generated", "-00001")]
    assert api.get(f"/api/v1/documents/{listed[0]['id']}").status_code == 200


def deploy_form(api, kind: str, key: str) -> None:
    """The document's form (named like its kind): what a correction may change."""
    form = {"id": kind, "type": "default", "components": [
        {"type": "textfield", "key": key, "label": key, "id": f"f_{key}"}]}
    r = api.deploy(files={f"{kind}.json": json.dumps(form).encode()})
    assert r.status_code == 201, r.get_json()


def test_a_correction_is_issued_at_once_by_the_gates_path_or_not_at_all(api, engine):
    deploy(api)
    deploy_form(api, "talk_notice", "talk_time")       # a correction changes a form's fields
    instance_id, doc = issue(api, engine, "talk_notice", {"talk_summoned": "项目负责人周某"})
    url = f"/api/v1/documents/{doc['id']}/correct"
    body = {"reason": "约谈时间有误", "changes": {"talk_time": "2026-12-02 09:00"}}
    issuer = docs.issuer()
    docs.register_renderer(BrokenRenderer(), issuer)
    try:
        failed = api.post(url, as_user="inspector_cc", json=body)
    finally:
        docs.register_renderer(pdf.PdfRenderer(), issuer)
    assert failed.status_code == 503 and "font cache unavailable" in failed.get_json()["message"]
    listed = api.get(f"/api/v1/instances/{instance_id}/documents").get_json()
    assert [d["number"] for d in listed] == [doc["number"]]          # nothing half-issued

    r = api.post(url, as_user="inspector_cc", json=body)
    assert r.status_code == 201, r.get_json()
    new = r.get_json()
    assert new["status"] == "generated" and new["sha256"]
    served = api.get(f"/api/v1/documents/{new['id']}")
    assert served.status_code == 200 and hashlib.sha256(served.get_data()).hexdigest() == \
        new["sha256"]
    history = [e["kind"] for e in api.get(f"/api/v1/instances/{instance_id}/history").get_json()]
    assert history[-2:] == ["document.corrected", "document.generated"]


def test_a_document_left_unrendered_by_an_earlier_version_is_issued_by_setup(api, engine):
    deploy(api)
    instance_id, doc = issue(api, engine, "talk_notice", {"talk_summoned": "项目负责人周某"})
    with engine.db.write() as conn:           # as the old background pass left a correction
        conn.execute(documents.insert().values(
            id="leftover", instance_id=instance_id, kind="talk_notice", number="YTTZ-2026-09999",
            title="约谈通知书", status="failed", replaces=doc["id"], created_at=clock.now(),
            data={"variables": {"talk_summoned": "项目负责人周某"}, "reason": "更正",
                  "changes": {}, "error": "font cache unavailable", "attempts": 3}))
    r = api.app.test_cli_runner().invoke(args=["setup"])
    assert r.exit_code == 0, r.output
    served = api.get("/api/v1/documents/leftover")
    assert served.status_code == 200
    assert "本文书更正并替代第" + doc["number"] + "号" in pdf_text(served.get_data())
    assert docs.issue_leftovers(engine) == 0


def test_a_correction_is_a_new_document_naming_the_one_it_replaces(api, engine):
    deploy(api)
    deploy_form(api, "rectification_notice", "deadline")
    instance_id, doc = issue(api, engine, "rectification_notice",
                             {"rect_issue": "临边防护缺失", "deadline": "2026-11-30"})
    original = api.get(f"/api/v1/documents/{doc['id']}").get_data()
    old_code = printed_code(pdf_text(original))
    url = f"/api/v1/documents/{doc['id']}/correct"
    body = {"reason": "整改期限填写错误", "changes": {"deadline": "2026-12-05"}}
    assert api.post(url, as_user="contractor_gdjg", json=body).status_code == 403
    r = api.post(url, as_user="inspector_cc", json=body)
    assert r.status_code == 201, r.get_json()
    new = r.get_json()
    assert new["replaces"] == doc["id"] and new["status"] == "generated"
    assert new["number"] != doc["number"] and new["number"].startswith("ZGTZ-")
    assert api.post(url, as_user="inspector_cc", json=body).status_code == 409   # once only

    corrected = pdf_text(api.get(f"/api/v1/documents/{new['id']}").get_data())
    assert f"本文书更正并替代第{doc['number']}号" in corrected
    assert "整改期限填写错误" in corrected and "二〇二六年十二月五日前" in corrected
    assert "临边防护缺失" in corrected
    assert api.get(f"/api/v1/documents/{doc['id']}").get_data() == original

    old = api.client.get(f"/api/v1/verify/{old_code}").get_json()
    assert old["valid"] is True and old["superseded_by"] == new["number"]
    assert new["number"] in api.client.get(f"/verify/{old_code}").get_data(as_text=True)
    listed = api.get(f"/api/v1/instances/{instance_id}/documents").get_json()
    assert [d["number"] for d in listed] == [doc["number"], new["number"]]


def test_verification_needs_no_login_and_rejects_unknown_codes(api, engine):
    deploy(api)
    _, doc = issue(api, engine, "crane_registration", {"crane_id": "QZ-CC001-01"})
    code = printed_code(pdf_text(api.get(f"/api/v1/documents/{doc['id']}").get_data()))
    ok = api.client.get(f"/api/v1/verify/{code.lower()}")
    assert ok.status_code == 200
    assert ok.get_json() | {"issued_at": None} == {
        "valid": True, "code": code, "number": doc["number"], "title": "起重机械使用登记证明",
        "issued_at": None, "authority": DEFAULT_AUTHORITY, "sha256": doc["sha256"],
        "superseded_by": None, "message": "该文书真实有效"}
    fake = api.client.get("/verify/AAAAAAAAAA")
    assert fake.status_code == 404 and "未找到与验证码" in fake.get_data(as_text=True)
    assert api.client.get("/api/v1/verify/AAAAAAAAAA").status_code == 404
    hostile = api.client.get("/verify/<script>x")
    assert "<script>x" not in hostile.get_data(as_text=True)


def test_without_a_configured_address_qr_codes_point_where_people_reach_us(sqlite_app):
    from processes import documents as docs

    client = sqlite_app.test_client()
    client.get("/healthz", base_url="https://jianguan.example:8443")
    assert docs.verify_url("ABC") == "https://jianguan.example:8443/verify/ABC"
    client.get("/healthz", base_url="http://10.0.0.5")
    assert docs.verify_url("ABC") == "http://10.0.0.5/verify/ABC"
