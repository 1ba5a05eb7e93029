"""Browser tests: a live server with the demo loaded, Debian's Chromium through Playwright, and
screenshots of each page under test-output/ui/<test>/ (gitignored)."""
from __future__ import annotations

import os
import re

import pytest

from engine.clock import clock
from processes.demo import DEMO_PASSWORD

from .live import CHROMIUM, CHROMIUM_ARGS, ROOT, LiveServer, missing_prerequisites

OUTPUT = os.path.join(ROOT, "test-output", "ui")


@pytest.fixture(scope="module")
def live(sqlite_template, tmp_path_factory):
    why = missing_prerequisites()
    if why:
        pytest.fail(f"{why} (`make test` installs what is missing)")
    with LiveServer(sqlite_template, str(tmp_path_factory.mktemp("ui"))) as server:
        yield server
    clock.reset()


@pytest.fixture(scope="session")
def browser():
    why = missing_prerequisites()
    if why:
        pytest.fail(f"{why} (`make test` installs what is missing)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(request):
    """shot(page, name): a full-page PNG in test-output/ui/<test name>/."""
    folder = os.path.join(OUTPUT, re.sub(r"[^\w.-]+", "_", request.node.name))
    os.makedirs(folder, exist_ok=True)

    def shot(page, name: str) -> str:
        path = os.path.join(folder, f"{name}.png")
        page.screenshot(path=path, full_page=True)
        return path
    return shot


@pytest.fixture
def sign_in(browser, live):
    """sign_in(username) -> a page of a fresh browser context, signed in through the form."""
    contexts = []

    def open_as(username: str, width: int = 1280, height: int = 900):
        context = browser.new_context(base_url=live.url, locale="zh-CN",
                                      timezone_id="Asia/Shanghai",
                                      viewport={"width": width, "height": height})
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page
    yield open_as
    for context in contexts:
        context.close()
