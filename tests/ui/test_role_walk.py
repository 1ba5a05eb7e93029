"""Every demo role's day in the browser (issue 14, "done when"): sign in, open each page of the
role's navigation, its own first work item and an instance it can see, at desktop (1280) and
phone (390) width; the visible text must be Chinese: Latin words only from a short allowlist
(PDF, ID, ...) or codes (anything with a digit: project, crane and document numbers).
Screenshots: test-output/ui/test_role_walk_<role>/."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

USERS = {"inspector": "inspector_cc", "contractor": "contractor_gdjg", "builder": "builder_fscj",
         "supervisor": "supervisor_hn", "expert": "expert01", "leader": "leader",
         "auditor": "auditor", "designer": "designer"}
ALLOWED = {"PDF", "ID", "SHA", "QR", "CSV", "API", "MB", "KB", "PM", "IoT", "HTTP", "MQTT", "HTML",
           "BPMN", "DMN", "JSON", "XML", "CAD", "Word", "Excel", "SVG", "PNG", "OK", "v",
           "JGJ", "GB", "id",
           # key names of the task page's shortcut hint (as printed on the keyboard)
           "Ctrl", "Alt", "Enter", "C", "R"}
# Pages whose users work with codes (process and form keys, user names in the audit trail):
# identifiers with _ or : count as codes there, nowhere else.
CODE_PAGES = ("/designer", "/audit")
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/:]*")


def latin_words(text: str, identifiers: bool = False) -> list[str]:
    """Latin words that are neither allowed nor codes (codes carry a digit or are all capitals
    joined by a hyphen, like FS-CC-2026-001 or QZ-CC001-01)."""
    out = []
    for token in TOKEN.findall(text):
        word = token.strip(".-/:")
        if not word or any(c.isdigit() for c in word) or word in ALLOWED:
            continue
        if identifiers and ("_" in word or ":" in word or word.islower()):
            continue
        if "-" in word and word.upper() == word:
            continue
        out.append(word)
    return sorted(set(out))


@pytest.fixture(scope="module", autouse=True)
def an_alarm(live):
    """An alarm that reached an instance, so the alarm pages have rows to read."""
    from tests.apiclient import ApiClient

    r = ApiClient(live.app).post("/api/v1/alarms", as_user="gateway", json={
        "alarm_id": "walk-1", "project_code": "FS-CC-2026-001", "device_id": "DUST-CC001",
        "device_type": "dust", "type": "pm10", "level": "alarm", "value": 240.0,
        "threshold": 200.0, "at": "2026-12-01T02:00:00+00:00"})
    assert r.status_code == 201, r.get_json()


def settle(page) -> None:
    page.wait_for_load_state("networkidle")
    expect(page.locator(".loading")).to_have_count(0)


def scan(page, where: str, found: dict) -> None:
    settle(page)
    words = latin_words(page.evaluate("document.body.innerText"),
                        identifiers=any(p in where for p in CODE_PAGES))
    if words:
        found[where] = words


@pytest.mark.parametrize("role", sorted(USERS))
def test_role_walk(role, live, sign_in, shots):
    found: dict[str, list[str]] = {}
    for width, height in ((1280, 900), (390, 844)):
        page = sign_in(USERS[role], width=width, height=height)
        settle(page)
        nav = page.locator("nav.topnav a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert nav, f"{role} has no navigation"
        for path in nav:
            page.goto(path)
            scan(page, f"{width}:{path}", found)
            shots(page, f"{width}-{path.strip('/').replace('/', '_') or 'home'}")
        # the role's own work: the first task it may open, and that task's instance
        tasks = page.evaluate("JG.apiPage('tasks', {quiet: true}).then(r => r.items.map(t => t.id), () => [])")
        if tasks:
            page.goto(f"/tasks/{tasks[0]}")
            expect(page.locator("#task-meta dt").first).to_be_visible()
            scan(page, f"{width}:task", found)
            shots(page, f"{width}-task")
            instance = page.locator("#task-page").get_attribute("data-instance")
            page.goto(f"/instances/{instance}")
            expect(page.locator("#inst-state")).to_be_visible()
            scan(page, f"{width}:instance", found)
            shots(page, f"{width}-instance")
        assert page.errors == [], page.errors
    assert found == {}, f"English on {role}'s pages: {found}"
