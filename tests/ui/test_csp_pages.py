"""The Content-Security-Policy breaks no page: every page, loaded once in Chromium by a user
who may see it, reports no CSP violation and no script error (issue 15 item 9)."""
from __future__ import annotations


WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""
PAGES = ["/inbox", "/start", "/instances", "/dashboard", "/alarms", "/designer", "/audit", "/map",
         "/imports", "/migrations", "/analytics", "/api/docs"]


def settle(page) -> None:
    try:
        page.wait_for_load_state("networkidle", timeout=8000)
    except Exception:  # noqa: BLE001  a page that polls never goes idle: what loaded is enough
        pass


def test_every_page_loads_under_the_policy(sign_in, live):
    page = sign_in("admin")
    page.context.add_init_script(WATCH)
    console = []
    page.on("console", lambda msg: console.append(msg.text)
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
            else None)
    listing = page.request.get("/api/v1/instances?page_size=1").json()
    paths = list(PAGES)
    if listing:
        paths.append(f"/instances/{listing[0]['id']}")
    tasks = page.request.get("/api/v1/tasks?page_size=1").json()
    if tasks:
        paths.append(f"/tasks/{tasks[0]['id']}")
    assert len(paths) == len(PAGES) + 2, "the demo has instances and admin's tasks"
    seen = {}
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        settle(page)
        seen[path] = page.evaluate("window.__csp")
    assert {p: v for p, v in seen.items() if v} == {}
    assert console == []
    assert page.errors == []


def test_the_sign_in_page_works_under_the_policy(browser, live):
    context = browser.new_context(base_url=live.url, locale="zh-CN")
    try:
        context.add_init_script(WATCH)
        page = context.new_page()
        page.goto("/login?next=/%09/evil.example/x")
        page.get_by_label("用户名").fill("inspector_cc")
        page.get_by_label("密码").fill("jianguan123")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/login" not in url)
        assert page.url.startswith(live.url + "/")
        assert page.evaluate("window.__csp") == []
    finally:
        context.close()
