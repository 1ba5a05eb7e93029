"""监管驾驶舱, 审计追溯 and 设备告警 in the browser: charts drawn and refreshed without a
reload (also at phone width), each chart's list one click away; the audit search, the chain
check and the CSV export; the live alarm list picking up a new alarm."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

from tests.apiclient import ApiClient

CHARTS = ("projects", "rectifications", "alarms", "cranes", "devices", "duties")


def expect(locator):
    from playwright.sync_api import expect as pw_expect
    return pw_expect(locator)


def post_alarm(live, device="DUST-CC001", project="FS-CC-2026-001", level="warning") -> dict:
    api = ApiClient(live.app)
    body = {"project_code": project, "device_type": "dust", "device_id": device,
            "alarm_id": uuid.uuid4().hex[:12], "type": "pm10", "level": level, "value": 180.0,
            "threshold": 150.0, "at": datetime.now(timezone.utc).isoformat()}
    r = api.post("/api/v1/alarms", as_user="gateway", json=body)
    assert r.status_code in (200, 201), r.get_json()
    return body


def charts_drawn(page) -> None:
    for key in CHARTS:
        expect(page.locator(f'[data-chart="{key}"]')).to_have_attribute("data-rendered", "true")
        assert page.locator(f'[data-chart="{key}"] canvas').count() >= 1


def test_dashboard_draws_charts_and_refreshes_without_reload(live, sign_in, shots):
    page = sign_in("leader")
    assert page.url.endswith("/dashboard")          # the leader's home
    page.clock.install()
    page.reload()
    charts_drawn(page)
    expect(page.locator('[data-kpi="projects"]')).to_have_text("12")
    before = page.locator('[data-kpi="alarms_day"]').inner_text()
    shots(page, "1-charts")

    # a list one click away, and back
    page.click('[data-toggle="cranes"]')
    cranes = page.locator('[data-list="cranes"] table tbody tr')
    expect(cranes).to_have_count(3)
    expect(page.locator('[data-chart="cranes"]')).to_be_hidden()
    page.click('[data-toggle="devices"]')
    expect(page.locator('[data-list="devices"]')).to_be_visible()
    shots(page, "2-lists")
    page.click('[data-toggle="cranes"]')
    expect(page.locator('[data-chart="cranes"]')).to_be_visible()

    # 30 s later the page fetches again by itself: a new alarm shows, the page is not reloaded
    page.evaluate("window.__sameDocument = true")
    post_alarm(live)
    page.clock.fast_forward("00:31")
    expect(page.locator('[data-kpi="alarms_day"]')).not_to_have_text(before)
    assert page.evaluate("window.__sameDocument") is True
    page.click('[data-toggle="alarms"]')
    expect(page.locator('[data-list="alarms"] table tbody tr').first).to_contain_text("pm10")
    shots(page, "3-refreshed")
    assert page.errors == []


def test_dashboard_at_phone_width_for_a_district_leader(live, sign_in, shots):
    page = sign_in("leader_cc", width=390, height=844)
    page.goto("/dashboard")
    charts_drawn(page)
    expect(page.locator('[data-kpi="projects"]')).to_have_text("3")         # 禅城区 only
    expect(page.locator("#district")).to_be_disabled()
    widths = page.evaluate("""() => ({doc: document.documentElement.scrollWidth,
                                     view: window.innerWidth,
                                     grid: document.getElementById('dash-grid').scrollWidth})""")
    assert widths["doc"] <= widths["view"] + 1 and widths["grid"] <= widths["view"], widths
    shots(page, "phone")
    assert page.errors == []


def test_audit_search_verify_and_csv(live, sign_in, shots):
    page = sign_in("auditor")
    assert page.url.endswith("/audit")               # the auditor's home
    rows = page.locator("#audit-table tbody tr")
    expect(rows.first).to_be_visible()
    page.click("#verify-btn")
    verdict = page.locator("#verify-message")
    expect(verdict).to_have_attribute("data-ok", "true")
    expect(verdict).to_contain_text("审计链完整")
    shots(page, "1-verified")

    page.fill("#f-project", "FS-CC-2026-001")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"business_key=FS-CC-2026-001"))
    expect(page.locator("#audit-list")).to_have_attribute(
        "data-query", re.compile(r"business_key=FS-CC-2026-001"))
    projects = page.locator("#audit-table tbody tr[data-seq] td:nth-child(6)").all_inner_texts()
    assert projects and set(projects) == {"FS-CC-2026-001"}
    rows.first.get_by_role("button", name="详情").click()
    expect(page.locator("#audit-table tr.detail-row")).to_contain_text("本条哈希")
    shots(page, "2-filtered")

    href = page.get_attribute("#csv-link", "href")
    assert "business_key=FS-CC-2026-001" in href
    csv = page.request.get(href)
    assert csv.status == 200 and csv.body().startswith(b"\xef\xbb\xbf")
    assert "FS-CC-2026-001" in csv.body().decode("utf-8-sig").splitlines()[1]
    assert page.errors == []


def test_audit_page_is_refused_to_a_contractor(live, sign_in):
    page = sign_in("contractor_gdjg")
    response = page.goto("/audit")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("无权访问")


def test_alarms_page_streams_new_alarms(live, sign_in, shots):
    page = sign_in("leader")
    page.goto("/alarms")
    expect(page.locator("#device-list table tbody tr").first).to_be_visible()
    expect(page.locator('#device-list tr[data-device="DUST-CC001"]')).to_contain_text("扬尘监测")
    body = post_alarm(live, device="DUST-CC002", project="FS-CC-2026-002")
    row = page.locator("#alarm-list tr[data-alarm]", has_text="DUST-CC002").first
    expect(row).to_be_visible(timeout=12000)          # polled every 5 s, no reload
    expect(row).to_contain_text("PM10")
    expect(row).to_contain_text(str(body["project_code"]))
    expect(page.locator("#dead-list")).not_to_contain_text("加载失败")
    shots(page, "alarms")
    assert page.errors == []
