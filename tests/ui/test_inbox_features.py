"""The inbox and task page as a task platform, in Chromium: search, sort, saved filters, the
refresh poll with the count in the title, 已办; keyboard claim and submit with a visible focus;
comments; assigning to a colleague, who is notified. Screenshots: test-output/ui/<test>/."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from processes.demo import DEMO_PASSWORD
from processes.people import create_user
from tests.apiclient import ApiClient

PROJECT = "FS-CC-2026-001"          # 禅城: inspector_cc


def start_two_lanes(live) -> tuple[ApiClient, str]:
    api = ApiClient(live.app)
    assert api.deploy("two_lanes.bpmn").status_code in (200, 201)
    r = api.start("two_lanes", PROJECT, {"project_code": PROJECT}, as_user="inspector_cc")
    assert r.status_code == 201, r.get_json()
    return api, r.get_json()["id"]


def open_task(api, iid: str) -> str:
    tasks = api.get("/api/v1/tasks?page_size=100&q=两岗审批", as_user="inspector_cc").get_json()
    return next(t["id"] for t in tasks if t["instance_id"] == iid)


def test_inbox_search_sort_saved_filter_refresh_and_done(live, sign_in, shots):
    api, first = start_two_lanes(live)
    page = sign_in("inspector_cc")
    page.clock.install()
    page.goto("/inbox")
    rows = page.locator("#inbox-table tbody tr")
    expect(rows.first).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\(\d+\) 待办 - 监管$"))
    page.get_by_label("搜索").fill("两岗审批")
    page.get_by_role("button", name="筛选", exact=True).click()
    expect(rows).to_have_count(1)
    # sort by a column, both ways, from its header
    page.get_by_role("button", name="期限", exact=True).click()
    expect(page.locator("th[aria-sort='ascending']")).to_have_text("期限")
    page.get_by_role("button", name="期限", exact=True).click()
    expect(page.locator("th[aria-sort='descending']")).to_have_text("期限")
    # save it, come back to a clean inbox, pick it again
    page.get_by_label("名称").fill("两岗的")
    page.get_by_role("button", name="保存为常用").click()
    expect(page.locator("#f-saved option", has_text="两岗的")).to_have_count(1)
    page.goto("/inbox")
    page.get_by_label("已保存的筛选").select_option("两岗的")
    expect(rows).to_have_count(1)
    shots(page, "01-saved-filter")
    total = int(page.locator("[data-count='total']").inner_text())
    # a task arrives: the poll sees it (ETag changed) and the list and title follow
    _, second = start_two_lanes(live)
    page.clock.fast_forward(16000)
    expect(rows).to_have_count(2)
    expect(page).to_have_title(f"({total + 1}) 待办 - 监管")
    # 已办: what I completed
    assert api.complete(open_task(api, first), {}, as_user="inspector_cc").status_code == 200
    page.get_by_label("查看").select_option("done")
    expect(page.locator(f"#inbox-table tbody tr[data-instance='{first}']")).to_be_visible()
    expect(page.locator("#inbox-table thead")).to_contain_text("办结时间")
    shots(page, "02-done")
    assert page.errors == []


def test_task_page_by_keyboard_with_comments_and_assign(live, sign_in, shots):
    with live.engine.db.write() as conn:
        create_user(conn, "inspector_cc3", "inspector", DEMO_PASSWORD, "禅城区", None,
                    "赵监督(禅城)", replace=True)
    api, iid = start_two_lanes(live)
    task_id = open_task(api, iid)
    page = sign_in("inspector_cc")
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("#btn-claim")).to_be_visible()
    expect(page.locator("#keyboard-hint")).to_contain_text("Ctrl+Enter")
    page.keyboard.press("Alt+c")                       # claim without the mouse
    expect(page.locator("#btn-unclaim")).to_be_visible()
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    # a comment, kept in the history
    page.get_by_label("发表评论").fill("请施工单位今日内回复")
    page.get_by_label("发表评论").press("Control+Enter")
    expect(page.locator("#comments-list")).to_contain_text("请施工单位今日内回复")
    shots(page, "01-claimed-commented")
    # the instance page shows it too, and its history names the event in Chinese
    page.goto(f"/instances/{iid}")
    expect(page.locator("#comments-list")).to_contain_text("请施工单位今日内回复")
    expect(page.locator("#history li[data-kind='comment.added']")).to_contain_text("评论")
    page.goto(f"/tasks/{task_id}")
    expect(page.locator("#btn-unclaim")).to_be_visible()
    page.locator("#btn-unclaim").focus()
    page.keyboard.press("Control+Enter")               # submit from anywhere on the page
    expect(page.locator("#task-done")).to_be_visible()
    shots(page, "02-submitted")

    # assign another task to a colleague from the page; he is notified
    _, other = start_two_lanes(live)
    other_task = open_task(api, other)
    page.goto(f"/tasks/{other_task}")
    page.get_by_label("同事").select_option("inspector_cc3")
    page.get_by_role("button", name="指派", exact=True).click()
    expect(page.locator(".toast", has_text="已指派给")).to_be_visible()
    colleague = sign_in("inspector_cc3")
    colleague.goto("/inbox?mine=1")
    expect(colleague.locator(f"#inbox-table tbody tr[data-task='{other_task}']")).to_be_visible()
    expect(colleague.locator("#jg-unread")).to_be_visible()
    colleague.locator("#jg-bell").click()
    expect(colleague.locator("#jg-notify-items")).to_contain_text("指派给您")
    shots(colleague, "03-colleague-notified")
    assert page.errors == [] and colleague.errors == []
