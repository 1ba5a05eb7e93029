"""Issue 14's defects on the pages (each failed before its fix): the alarm list once an alarm
reached an instance (4), a completed task reopening with its data and files (7), back/forward
after submitting (8), an oversize file refused before it is sent (14)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.apiclient import ApiClient
from tests.ui.helpers import fill_reply, pick_date, submit

PROJECT = "FS-CC-2026-001"


@pytest.fixture
def at_reply(live) -> tuple[ApiClient, str, str]:
    """A fresh rectification up to the contractor's reply: (api, instance id, reply task id)."""
    api = ApiClient(live.app)
    iid = api.start("rectification", PROJECT, as_user="inspector_cc").get_json()["id"]
    notice = api.open_task(iid, "rect_notice", "inspector_cc")
    r = api.complete(notice["id"], {"rect_location": "3号楼", "rect_issue": "临边防护缺失",
                                    "rect_requirement": "设置防护栏杆", "deadline": "2030-01-10"},
                     as_user="inspector_cc")
    assert r.status_code == 200, r.get_json()
    return api, iid, api.open_task(iid, "rect_reply", "contractor_gdjg")["id"]


def _reply_form(sign_in, reply: str, via: str | None = None):
    """The contractor's page on the reply task (coming from `via` first, if given), its form
    shown."""
    page = sign_in("contractor_gdjg")
    if via:
        page.goto(via)
    page.goto(f"/tasks/{reply}")
    expect(page.locator(".fjs-form")).to_be_visible()
    return page


def test_alarm_list_shows_alarms_that_reached_instances(live, sign_in, shots):
    api = ApiClient(live.app)
    r = api.post("/api/v1/alarms", as_user="gateway", json={
        "alarm_id": "ui-defect-4", "project_code": "FS-CC-2026-003", "device_id": "DUST-CC003",
        "device_type": "dust", "type": "pm10", "level": "alarm", "value": 250.0,
        "threshold": 200.0, "at": "2026-12-01T02:00:00+00:00"})
    assert r.status_code == 201, r.get_json()
    assert api.get("/api/v1/alarms?device_type=dust", as_user="inspector_cc").status_code == 200
    page = sign_in("inspector_cc")
    page.goto("/alarms")
    row = page.locator("#alarm-list tbody tr", has_text="DUST-CC003").first
    expect(row).to_be_visible()
    expect(row.locator("a[href^='/instances/']").first).to_be_visible()
    expect(row).to_contain_text("PM10")
    assert "pm10" not in row.inner_text()
    shots(page, "alarms-with-instances")
    assert page.errors == []


def test_completed_task_reopens_with_its_data_and_files(at_reply, sign_in, shots):
    api, _, reply = at_reply
    page = _reply_form(sign_in, reply)
    fill_reply(page, "已设置防护栏杆", "现场照片.png")
    pick_date(page, "完成日期", "2030-01-08")
    submit(page)
    page.reload()
    expect(page.get_by_label("整改措施")).to_have_value("已设置防护栏杆")
    expect(page.get_by_label("整改责任人")).to_have_value("王建国")
    expect(page.locator('[data-field="rect_evidence"] li[data-attachment]')).to_contain_text("现场照片.png")
    shots(page, "completed-task-reopened")
    data = api.get(f"/api/v1/tasks/{reply}", as_user="contractor_gdjg").get_json()["data"]
    assert data["rect_measures"] == "已设置防护栏杆" and data["rect_evidence"]


def test_back_after_submit_shows_the_task_done(at_reply, sign_in, shots):
    _, _, reply = at_reply
    page = _reply_form(sign_in, reply, via="/inbox")
    response = page.request.get(f"/tasks/{reply}")
    assert "no-store" in response.headers.get("cache-control", "")
    fill_reply(page, "已整改", "a.png")
    pick_date(page, "完成日期", "2030-01-08")
    submit(page)
    expect(page.locator("#task-meta")).not_to_contain_text("待办理")
    page.go_back()
    page.go_forward()
    page.wait_for_url(f"**/tasks/{reply}")
    expect(page.locator("#task-meta")).to_contain_text("已办理")
    expect(page.locator("#btn-complete")).to_have_count(0)
    shots(page, "back-forward-after-submit")


def test_oversize_upload_is_refused_before_sending(at_reply, sign_in, shots, tmp_path):
    _, _, reply = at_reply
    page = _reply_form(sign_in, reply)
    limit = int(page.locator("#task-page").get_attribute("data-max-upload"))
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/attachments" in r.url and r.method == "POST" else None)
    big = tmp_path / "大文件.png"
    with open(big, "wb") as fh:
        fh.truncate(limit + 1)
    page.locator("#upload-rect_evidence").set_input_files(str(big))
    expect(page.locator('[data-field="rect_evidence"]')).to_contain_text("超过")
    expect(page.locator('[data-field="rect_evidence"] li[data-attachment]')).to_have_count(0)
    assert sent == []
    shots(page, "oversize-refused")


def test_supervisor_sees_the_contractors_reply_and_photos(at_reply, sign_in, shots):
    api, iid, reply = at_reply
    up = api.upload(reply, "整改后照片.png", as_user="contractor_gdjg")
    assert up.status_code == 201, up.get_json()
    r = api.complete(reply, {"rect_measures": "已加设防护栏杆", "rect_responsible": "王建国",
                             "rect_completed_on": "2030-01-08",
                             "rect_evidence": [up.get_json()["id"]]}, as_user="contractor_gdjg")
    assert r.status_code == 200, r.get_json()
    check = api.open_task(iid, "rect_check", "supervisor_hn")
    page = sign_in("supervisor_hn")
    page.goto(f"/tasks/{check['id']}")
    earlier = page.locator("#earlier")
    expect(earlier.locator(f"[data-task='{reply}']")).to_contain_text("已加设防护栏杆")
    expect(earlier).to_contain_text("整改措施")
    expect(earlier).to_contain_text("存在问题")          # the inspector's notice too
    photo = earlier.locator("a.file-link", has_text="整改后照片.png")
    expect(photo).to_be_visible()
    status = page.evaluate("url => fetch(url).then(r => r.status)", photo.get_attribute("href"))
    assert status == 200
    shots(page, "supervisor-sees-earlier-steps")
    assert page.errors == []


def test_history_and_instance_show_labels_not_codes(at_reply, sign_in, shots):
    _, iid, _ = at_reply
    page = sign_in("inspector_cc")
    page.goto(f"/instances/{iid}")
    history = page.locator("#history-list")
    notice = history.locator("li[data-kind='task.completed']").first
    expect(notice).to_contain_text("存在问题 = 临边防护缺失")        # the field's label
    assert "rect_issue" not in history.inner_text()
    expect(history.locator("li").first).to_contain_text("张监督(禅城)")  # a name, not inspector_cc
    expect(page.locator("#inst-meta")).to_contain_text("张监督(禅城)")
    expect(page.locator("#variables-table")).to_have_count(0)        # codes: admins only
    expect(page.locator("#earlier")).to_contain_text("整改要求")
    shots(page, "instance-labels")
    admin = sign_in("admin")
    admin.goto(f"/instances/{iid}")
    admin.locator("summary", has_text="流程变量").click()
    expect(admin.locator("#variables-table")).to_contain_text("rect_issue")


def test_drawn_expert_opens_the_scheme_from_the_earlier_steps(live, sign_in, shots):
    from tests.processes.test_expert_review import confirm_tasks, start, to_draw

    api = ApiClient(live.app)
    iid = start(api)
    to_draw(api, iid)
    username, task = sorted(confirm_tasks(api, iid).items())[0]
    page = sign_in(username)
    page.goto(f"/tasks/{task['id']}")
    earlier = page.locator("#earlier")
    scheme = earlier.locator("a.file-link", has_text="file-scheme-cover.png")
    expect(scheme).to_be_visible()
    status = page.evaluate("url => fetch(url).then(r => r.status)", scheme.get_attribute("href"))
    assert status == 200
    expect(earlier).to_contain_text("监理审查专项方案")
    shots(page, "expert-sees-the-scheme")


def test_audit_search_names_people_and_the_platform(live, sign_in):
    page = sign_in("auditor")
    page.goto("/audit")
    table = page.locator("#audit-list table")
    expect(table).to_be_visible()
    text = page.locator("main").inner_text()
    assert "system:" not in text
    assert "系统(" in text or "张监督(禅城)" in text
