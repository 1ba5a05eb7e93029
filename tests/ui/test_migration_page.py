"""实例迁移 in the browser: both versions side by side, the dry run names what cannot move,
the mapping is edited, the batch runs and its progress reaches the end."""
from __future__ import annotations

from tests.apiclient import ApiClient
from tests.engine.migration_diagrams import V1, renamed_reply, with_diagram

PROJECT = "FS-CC-2026-001"


def expect(locator):
    from playwright.sync_api import expect as pw_expect
    return pw_expect(locator)


def test_map_dry_run_and_migrate_from_the_page(live, sign_in, shots):
    api = ApiClient(live.app)
    assert api.deploy(files={"two_lanes.bpmn": with_diagram(V1)}).status_code in (200, 201)
    ids = [api.start("two_lanes", PROJECT, {"project_code": PROJECT}).get_json()["id"]
           for _ in range(3)]
    for instance_id in ids[1:]:
        assert api.complete(api.open_task(instance_id, "draft")["id"]).status_code == 200
    v2 = with_diagram(renamed_reply(), reply="reply2")
    assert api.deploy(files={"two_lanes.bpmn": v2}).status_code == 201

    page = sign_in("designer")
    page.goto("/migrations")
    page.select_option("#mig-process", "two_lanes")
    page.select_option("#mig-from", "1")
    page.select_option("#mig-to", "2")
    page.click("#mig-load")
    page.wait_for_selector('#mig-from-view[data-rendered="true"]')
    page.wait_for_selector('#mig-to-view[data-rendered="true"]')
    expect(page.locator("#mig-summary")).to_contain_text("可迁移 1, 无法迁移 2")
    # where instances wait: blue when they can move, red when their step has no target
    expect(page.locator('#mig-from-view [data-element-id="reply"].mig-blocked')).to_have_count(1)
    expect(page.locator('#mig-from-view [data-element-id="draft"].mig-waiting')).to_have_count(1)
    expect(page.locator("#mig-report-table")).to_contain_text("没有对应元素")
    expect(page.locator('tr.unmapped[data-element="reply"]')).to_have_count(1)
    shots(page, "1-dry-run-unmapped")

    page.select_option('select[data-source="reply"]', "reply2")
    page.click("#mig-dry")
    expect(page.locator("#mig-summary")).to_contain_text("可迁移 3, 无法迁移 0")
    expect(page.locator('#mig-to-view [data-element-id="reply2"].mig-target')).to_have_count(1)
    shots(page, "2-mapped")

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#mig-run")
    page.wait_for_selector('#mig-progress[data-state="done"]')
    expect(page.locator("#mig-progress-text")).to_contain_text("已迁移 3 / 3")
    expect(page.locator("#mig-batches")).to_contain_text("v1 → v2")
    shots(page, "3-done")
    assert {api.instance(i)["version"] for i in ids} == {2}
    assert page.errors == []
