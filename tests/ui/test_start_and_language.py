"""Starting a process from its start form on the web (issue 14, defect 3: crane filing could
not be started), and the bpmn-io libraries in Chinese (date pickers, select, modeler palette)."""
from __future__ import annotations

import re

from playwright.sync_api import expect

ENGLISH = re.compile(r"\b(January|February|Sun|Mon|Tue|Select|Search|Create|Append|Activate)\b")


def test_contractor_files_a_crane_from_the_start_form(live, sign_in, shots):
    page = sign_in("contractor_gdjg")
    page.get_by_role("link", name="发起流程").first.click()
    page.wait_for_url("**/start")
    shots(page, "01-start-list")
    page.locator("#start-list a[data-key='crane_filing']").click()
    page.wait_for_url("**/start/crane_filing")
    expect(page.locator(".fjs-form")).to_be_visible()
    # an empty form: the fields say what is missing, nothing is started
    page.get_by_role("button", name="发起").click()
    expect(page.locator(".fjs-form-field-error").first).to_contain_text("必填")
    project = page.get_by_label("工程项目")
    expect(project).to_have_attribute("placeholder", "搜索")
    project.fill("FS-CC-2026-001")
    page.locator(".fjs-dropdownlist-item", has_text="FS-CC-2026-001").first.click()
    page.get_by_label("起重机械编号").fill("QZ-NH002-01")      # a crane of another project
    field = page.get_by_label("计划进场日期")
    field.fill("2030/01/20")
    field.press("Enter")
    page.get_by_role("button", name="发起").click()
    crane = page.locator(".fjs-form-field", has=page.get_by_label("起重机械编号"))
    expect(crane.locator(".fjs-form-field-error")).to_have_text("起重机械 QZ-NH002-01 不属于该工程")
    expect(page.locator(".toast").last).not_to_contain_text("failed")    # Chinese, no English
    shots(page, "02-start-form-server-error")
    page.get_by_label("起重机械编号").fill("QZ-CC001-01")
    page.get_by_role("button", name="发起").click()
    page.wait_for_url(re.compile(r".*/(tasks|instances)/[\w-]+$"))
    expect(page.locator("h1").first).not_to_have_text("")
    shots(page, "03-started")
    assert page.errors == []


def test_date_picker_and_select_in_chinese(live, sign_in, shots):
    page = sign_in("inspector_cc")
    page.goto("/start/rectification")
    expect(page.locator(".fjs-form")).to_be_visible()
    expect(page.get_by_label("工程项目")).to_have_attribute("placeholder", "搜索")
    page.goto("/start")
    expect(page.locator("#start-list")).to_contain_text("整改")
    # a task with a date field: the calendar speaks Chinese
    page.goto("/inbox")
    link = page.locator("#inbox-table tbody tr", has_text="下达整改通知").first.get_by_role("link", name="办理")
    link.click()
    expect(page.locator(".fjs-form")).to_be_visible()
    calendar = page.locator(".flatpickr-calendar").first
    expect(calendar).to_contain_text("周一")
    assert not ENGLISH.search(calendar.inner_text())
    shots(page, "task-date-picker")


def test_modeler_palette_and_form_editor_in_chinese(live, sign_in, shots):
    page = sign_in("designer")
    page.goto("/designer")
    palette = page.locator(".djs-palette .entry[aria-label]")
    expect(palette.first).to_be_visible()
    titles = palette.evaluate_all("es => es.map(e => e.getAttribute('aria-label'))")
    assert titles and not [t for t in titles if ENGLISH.search(t)], titles
    assert "创建开始事件" in titles
    shots(page, "modeler-palette")


def test_modeler_context_pad_in_chinese(live, sign_in, shots):
    page = sign_in("designer")
    page.goto("/designer?key=rectification")
    page.wait_for_selector('#modeler[data-import="ok"]')
    page.click('#modeler [data-element-id="rect_reply"]')
    pad = page.locator(".djs-context-pad .entry")
    expect(pad.first).to_be_attached()
    titles = pad.evaluate_all("es => es.map(e => e.title || e.getAttribute('aria-label') || '')")
    titles = [t for t in titles if t]
    assert titles and not [t for t in titles if ENGLISH.search(t)], titles
    assert "追加任务" in titles or "删除" in titles, titles
    shots(page, "modeler-context-pad")
