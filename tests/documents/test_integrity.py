"""What makes a document trustworthy: escaped input, no fetching, never re-rendered, scoped
access, corrections as new documents, and the public check of a printed code."""
from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import select, text, update

from integrations import pdf
from processes import documents as docs
from processes.schema import documents

from .helpers import deploy, issue, pdf_text, printed_code, request_document

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
    with pytest.raises(docs.DocumentIssued):
        docs.generate(engine, doc["id"])
    assert docs.generate_pending(engine) == 0
    again = api.get(f"/api/v1/documents/{doc['id']}").get_data()
    assert again == first and hashlib.sha256(again).hexdigest() == doc["sha256"]
    with pytest.raises(Exception):
        with engine.db.write() as conn:      # the database itself refuses
            conn.execute(text("UPDATE document_files SET size = 1"))
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


def test_a_pdf_is_served_only_once_generated(api, engine):
    deploy(api)
    _, doc = request_document(api, "resume_notice", {})
    waiting = api.get(f"/api/v1/documents/{doc['id']}")
    assert waiting.status_code == 409 and "正在生成" in waiting.get_json()["message"]


def test_a_rendering_failure_keeps_the_document_and_is_retried(api, engine, monkeypatch):
    deploy(api)
    instance_id, doc = request_document(api, "supervision_plan", {"key_risks": "高支模"})

    def broken(kind, context):
        raise RuntimeError("font cache unavailable")
    monkeypatch.setattr(pdf, "render_pdf", broken)
    assert docs.generate_pending(engine) == 0
    listed = api.get(f"/api/v1/instances/{instance_id}/documents").get_json()
    assert listed[0]["status"] == "failed"
    with engine.db.read() as conn:
        error = conn.execute(select(documents.c.data).where(documents.c.id == doc["id"])).scalar()
    assert "font cache unavailable" in error["error"] and error["attempts"] == 1
    failed = api.get(f"/api/v1/documents/{doc['id']}")
    assert failed.status_code == 409 and "生成失败" in failed.get_json()["message"]
    history = api.get(f"/api/v1/instances/{instance_id}/history").get_json()
    assert "document.failed" in str(history)

    monkeypatch.undo()
    assert docs.generate_pending(engine) == 1
    assert api.get(f"/api/v1/documents/{doc['id']}").status_code == 200
    assert listed[0]["number"] == api.get(
        f"/api/v1/instances/{instance_id}/documents").get_json()[0]["number"]


def test_a_correction_is_a_new_document_naming_the_one_it_replaces(api, engine):
    deploy(api)
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
    assert new["replaces"] == doc["id"] and new["status"] == "requested"
    assert new["number"] != doc["number"] and new["number"].startswith("ZGTZ-")
    assert api.post(url, as_user="inspector_cc", json=body).status_code == 409   # once only
    assert api.post(f"/api/v1/documents/{new['id']}/correct", as_user="inspector_cc",
                    json=body).status_code == 409                                  # not issued

    assert docs.generate_pending(engine) == 1
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
        "issued_at": None, "authority": pdf.DEFAULT_AUTHORITY, "sha256": doc["sha256"],
        "superseded_by": None, "message": "该文书真实有效 (genuine document)"}
    fake = api.client.get("/verify/AAAAAAAAAA")
    assert fake.status_code == 404 and "未找到与验证码" in fake.get_data(as_text=True)
    assert api.client.get("/api/v1/verify/AAAAAAAAAA").status_code == 404
    hostile = api.client.get("/verify/<script>x")
    assert "<script>x" not in hostile.get_data(as_text=True)
