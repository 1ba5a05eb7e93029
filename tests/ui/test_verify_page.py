"""/verify/{code} (issue 14, defect 9): the same issue date as the PDF, in China time, also
late in the UTC day; and the QR code's address from the request's host when no public URL is
configured."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from engine.clock import clock
from tests.documents.helpers import deploy, issue, pdf_text, printed_code


def test_verify_page_shows_the_date_printed_on_the_pdf(api, engine):
    deploy(api)
    # 17:30 UTC is already the next day in Asia/Shanghai
    clock.freeze(datetime(2026, 12, 3, 17, 30, tzinfo=timezone.utc))
    try:
        _, doc = issue(api, engine, "rectification_notice", {
            "rect_issue": "临边防护缺失", "rect_requirement": "按要求整改", "deadline": "2026-12-20"})
    finally:
        clock.reset()
    body = pdf_text(api.get(f"/api/v1/documents/{doc['id']}").get_data())
    assert "二〇二六年十二月四日" in body
    code = printed_code(body)
    page = api.client.get(f"/verify/{code}").get_data(as_text=True)
    assert "二〇二六年十二月四日" in page, re.findall(r"出具日期.{0,80}", page)
    assert "二〇二六年十二月三日" not in page


def test_qr_url_defaults_to_the_requests_host(api, engine):
    deploy(api)
    # the test client's requests come to http://localhost/
    _, doc = issue(api, engine, "rectification_notice", {
        "rect_issue": "临边防护缺失", "rect_requirement": "按要求整改", "deadline": "2030-12-20"})
    body = pdf_text(api.get(f"/api/v1/documents/{doc['id']}").get_data())
    assert "127.0.0.1:5000" not in body
    assert "http://localhost/verify/" in body, body[-400:]
