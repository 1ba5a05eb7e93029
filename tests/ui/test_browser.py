"""The platform in a real browser (Debian's Chromium through Playwright) against a live server
with the demo loaded: a rectification from notice to acceptance by the people who do it, the
refusals, CSRF, and the inbox at phone width. Screenshots go to test-output/ui/<test>/."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.ui.helpers import fill_reply, pick_date, submit

PROJECT = "FS-CC-2026-001"          # 禅城: inspector_cc; contractor CON001 (contractor_gdjg),
#                                     supervisor SUP001 (supervisor_hn)


def open_task_from_inbox(page, instance_id: str, name: str):
    """Filter the inbox by project, click the 办理 button of the instance's task; returns the
    task id."""
    page.goto("/inbox")
    page.get_by_label("项目").select_option(PROJECT)
    page.get_by_role("button", name="筛选").click()
    row = page.locator(f"#inbox-table tbody tr[data-instance='{instance_id}']", has_text=name)
    expect(row).to_be_visible()
    task_id = row.get_attribute("data-task")
    row.get_by_role("link", name="办理").click()
    page.wait_for_url(f"**/tasks/{task_id}")
    expect(page.locator(".fjs-form")).to_be_visible()
    return task_id


def test_rectification_from_notice_to_acceptance(live, sign_in, shots):
    # the inspector starts a rectification from the instances page and issues the notice
    inspector = sign_in("inspector_cc")
    inspector.goto("/instances")
    inspector.locator("#start-box summary").click()
    inspector.get_by_label("流程", exact=True).nth(0).select_option("rectification")
    inspector.locator("#s-project").select_option(PROJECT)
    inspector.get_by_role("button", name="发起").click()
    inspector.wait_for_url(re.compile(r".*/tasks/[\w-]+$"))
    instance_id = inspector.locator("#task-page").get_attribute("data-instance")
    shots(inspector, "01-inspector-task-opened-after-start")

    notice_id = open_task_from_inbox(inspector, instance_id, "下达整改通知")
    # an empty form: the browser marks the required fields, nothing is sent
    inspector.get_by_role("button", name="提交办理").click()
    expect(inspector.locator(".fjs-form-field-error").first).to_contain_text("必填")
    # what only the server knows (its text limit) comes back as a 422 shown at the field
    inspector.get_by_label("部位").fill("2号楼北侧")
    inspector.get_by_label("存在问题").fill("问" * 10_001)
    inspector.get_by_label("整改要求").fill("立即设置1.2米防护栏杆并挂密目网, 洞口加盖")
    pick_date(inspector, "整改期限", "2030-01-10")
    inspector.get_by_role("button", name="提交办理").click()
    issue = inspector.locator(".fjs-form-field", has=inspector.get_by_label("存在问题"))
    expect(issue.locator(".fjs-form-field-error")).to_contain_text("长度不能超过 10000")
    expect(inspector.locator("#task-done")).to_have_count(0)
    shots(inspector, "02-inspector-server-field-error")
    inspector.get_by_label("存在问题").fill("2号楼北侧临边防护栏杆缺失, 洞口未封闭")
    expect(inspector.locator("#diagram[data-rendered]")).to_be_visible()
    expect(inspector.locator("#diagram .djs-element.jg-current")).to_have_count(1)
    shots(inspector, "03-inspector-notice-form")
    submit(inspector)
    shots(inspector, "04-inspector-notice-done")
    assert notice_id

    # the contractor sees the notice's reply task, uploads a photo, saves a draft, replies
    contractor = sign_in("contractor_gdjg")
    expect(contractor.locator("#inbox-table")).to_be_visible()
    shots(contractor, "05-contractor-inbox")
    reply_id = open_task_from_inbox(contractor, instance_id, "整改并回复")
    fill_reply(contractor, "已设置防护栏杆并挂密目网, 洞口已加盖固定", "整改后.png")
    contractor.get_by_role("button", name="暂存").click()
    expect(contractor.locator("#draft-saved")).to_be_visible()
    contractor.reload()
    expect(contractor.get_by_label("整改措施")).to_have_value("已设置防护栏杆并挂密目网, 洞口已加盖固定")
    expect(contractor.locator('[data-field="rect_evidence"] li[data-attachment]')).to_contain_text("整改后.png")
    pick_date(contractor, "完成日期", "2030-01-08")
    shots(contractor, "06-contractor-reply-form")
    submit(contractor)
    shots(contractor, "07-contractor-reply-done")
    assert reply_id

    # the supervising engineer checks it
    supervisor = sign_in("supervisor_hn")
    open_task_from_inbox(supervisor, instance_id, "监理核查整改")
    supervisor.get_by_label("已按要求整改").check()
    supervisor.get_by_label("监理核查意见").fill("现场核查, 防护栏杆及洞口封闭符合要求")
    supervisor.get_by_label("签名").fill("李总监")
    submit(supervisor)

    # the inspector accepts the rectification
    review_id = open_task_from_inbox(inspector, instance_id, "复查整改")
    inspector.get_by_label("合格, 整改闭合").check()
    inspector.get_by_label("复查意见").fill("复查合格, 同意闭合")
    shots(inspector, "08-inspector-review-form")
    submit(inspector)
    assert review_id

    # the instance page shows the path, the documents and the history
    inspector.goto(f"/instances/{instance_id}")
    expect(inspector.locator("#inst-state")).to_have_text("已完成")
    expect(inspector.locator("#diagram[data-rendered]")).to_be_visible()
    expect(inspector.locator("#documents-table tbody tr").first).to_be_visible()
    shots(inspector, "09-instance-completed")

    # the auditor reads the whole history; the audit chain verifies
    auditor = sign_in("auditor")
    auditor.goto(f"/instances/{instance_id}")
    history = auditor.locator("#history-list li")
    expect(history.first).to_be_visible()
    kinds = history.evaluate_all("items => items.map(i => i.dataset.kind)")
    assert kinds[0] == "instance.started" and kinds.count("task.completed") >= 4
    assert "attachment.uploaded" in kinds and kinds[-1] == "instance.completed"
    shots(auditor, "10-auditor-instance-history")
    result = live.app.test_cli_runner().invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
    for page in (inspector, contractor, supervisor, auditor):
        assert page.errors == []


def test_contractor_of_another_enterprise_is_refused(live, sign_in, shots):
    with live.engine.db.read() as conn:
        from sqlalchemy import select

        from engine.schema import tasks
        task = conn.execute(select(tasks.c.id, tasks.c.instance_id).where(
            tasks.c.element_id == "rect_reply", tasks.c.state == "open",
            tasks.c.scope_key == PROJECT)).first()
    assert task is not None, "the demo has a rectification reply for contractor_gdjg"
    other = sign_in("contractor_zj3")
    response = other.goto(f"/tasks/{task.id}")
    assert response.status == 403
    expect(other.locator("[data-error-code='403']")).to_contain_text("无权")
    shots(other, "01-task-refused")
    response = other.goto(f"/instances/{task.instance_id}")
    assert response.status == 403
    # the API refuses too, and the page script shows the refusal in Chinese
    status = other.evaluate("id => JG.api('tasks/' + id, {quiet: true}).then(() => 200, e => e.status)",
                            task.id)
    assert status == 403
    other.goto("/no/such/page")
    expect(other.locator("[data-error-code='404']")).to_contain_text("页面不存在")
    shots(other, "02-not-found")


def test_csrf_post_without_the_token_is_refused(live, sign_in):
    page = sign_in("contractor_gdjg")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["jianguan_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""
    task_id = page.evaluate("JG.apiPage('tasks').then(r => r.items[0].id)")
    refused = page.evaluate("""id => fetch('/api/v1/tasks/' + id + '/claim', {method: 'POST',
        credentials: 'same-origin'}).then(r => r.json().then(b => [r.status, b.message]))""", task_id)
    assert refused[0] == 403 and "CSRF" in refused[1]
    claimed = page.evaluate("id => JG.api('tasks/' + id + '/claim', {method: 'POST'})", task_id)
    assert claimed["assignee"] == "contractor_gdjg"
    page.evaluate("id => JG.api('tasks/' + id + '/unclaim', {method: 'POST'})", task_id)


def test_inbox_at_phone_width(live, sign_in, shots):
    page = sign_in("inspector_cc", width=375, height=800)
    expect(page.locator("#inbox-table tbody tr").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.get_by_role("link", name="我的待办")).to_be_visible()
    shots(page, "inbox-375px")
    page.locator("#inbox-table tbody tr").first.get_by_role("link", name="办理").click()
    expect(page.locator(".fjs-form")).to_be_visible()
    expect(page.locator("#diagram[data-rendered]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shots(page, "task-375px")


def test_sign_in_with_the_keyboard_only(live, browser, shots):
    context = browser.new_context(base_url=live.url, locale="zh-CN",
                                  viewport={"width": 375, "height": 740})
    try:
        page = context.new_page()
        page.goto("/inbox")                       # not signed in: the form, then back here
        page.wait_for_url("**/login?next=/inbox")
        shots(page, "01-login-375px")
        page.keyboard.type("inspector_cc")        # the user name field has the focus
        page.keyboard.press("Tab")
        page.keyboard.type("jianguan123")
        page.keyboard.press("Enter")
        page.wait_for_url("**/inbox")
        expect(page.locator("#inbox-table tbody tr").first).to_be_visible()
        # sign out is a form button too
        page.get_by_role("button", name="退出").focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**/login")
    finally:
        context.close()


def test_inspector_cancels_an_instance_with_a_reason(live, sign_in, shots):
    from sqlalchemy import select

    from engine.schema import instances
    with live.engine.db.read() as conn:
        instance_id = conn.execute(select(instances.c.id).where(
            instances.c.process_key == "rectification", instances.c.state == "running",
            instances.c.business_key == "FS-CC-2026-002")).scalar_one()
    page = sign_in("inspector_cc")
    page.goto("/instances?state=running")
    expect(page.locator(f"tr[data-instance='{instance_id}']")).to_be_visible()
    shots(page, "01-instances-running")
    page.goto(f"/instances/{instance_id}")
    expect(page.locator("#waiting-table")).to_contain_text("下达整改通知")
    expect(page.locator("#diagram .djs-element.jg-current")).not_to_have_count(0)
    page.locator("#inst-actions summary").click()
    page.get_by_label("撤销原因").fill("项目已停工, 改由现场检查处理")
    shots(page, "02-cancel-form")
    page.get_by_role("button", name="确认撤销").click()
    expect(page.locator("#inst-state")).to_have_text("已撤销")
    expect(page.locator("#history-list li").last).to_contain_text("项目已停工")
    shots(page, "03-cancelled")
    # a contractor may read his instances but has no cancel button (the API would refuse)
    contractor = sign_in("contractor_fs1")
    contractor.goto(f"/instances/{instance_id}")
    expect(contractor.locator("#inst-state")).to_have_text("已撤销")
    expect(contractor.locator("#cancel-form")).to_have_count(0)
