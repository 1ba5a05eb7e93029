"""项目一页通 in the browser: one site's parties, instances and their open steps, devices,
documents and score; coordinates set by the district's inspector; another enterprise's site
refused before any data is sent."""
from __future__ import annotations


def expect(locator):
    from playwright.sync_api import expect as pw_expect
    return pw_expect(locator)


def test_a_contractor_sees_everything_about_its_site(live, sign_in, shots):
    page = sign_in("contractor_gdjg")
    page.goto("/projects/FS-CC-2026-001")
    # the demo's rectification waits for this contractor's reply, with its notice issued
    for section, texts in (("h1", ["禅城区季华路商业综合体"]),
                           ("#parties", ["广东建工集团有限公司", "广东华南建设监理有限公司"]),
                           ("#instances", ["隐患整改", "整改并回复"]),
                           ("#documents", ["整改通知书"]),
                           ("#devices", ["DUST-CC001", "QZ-CC001-01"])):
        for text in texts:
            expect(page.locator(section)).to_contain_text(text)
    expect(page.locator("#proj-state")).not_to_have_text("正在加载")
    assert page.locator("#locate-form").count() == 0          # contractors do not move sites
    shots(page, "1-contractor")
    page.goto("/projects/FS-NH-2026-001")                      # not one of its sites
    expect(page.locator("h1")).to_have_text("无权访问")
    assert page.locator("#instances").count() == 0
    assert page.errors == []


def test_the_inspector_places_the_site_on_the_map(live, sign_in, shots):
    page = sign_in("inspector_cc")
    page.goto("/projects/FS-CC-2026-003")
    expect(page.locator("#locate-form")).to_be_visible()
    page.fill("#lng", "120.5")
    page.fill("#lat", "23.03")
    page.click("#locate-form button[type=submit]")
    expect(page.locator("#locate-form")).to_contain_text("经度应在 112.3 至 113.5 之间")
    page.fill("#lng", "113.12")
    page.click("#locate-form button[type=submit]")
    expect(page.locator("#coords")).to_have_text("113.12, 23.03")
    shots(page, "2-located")
    page.goto("/map")
    expect(page.locator("#site-map")).to_have_attribute("data-ready", "1")
    site = page.evaluate("window.JGMap.sites().find(s => s.code === 'FS-CC-2026-003')")
    assert (site["lng"], site["lat"]) == (113.12, 23.03)
