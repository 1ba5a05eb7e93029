"""流程分析 in the browser: the heat map on the diagram, the ranked lists, an Excel export."""
from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from engine.clock import clock
from tests.apiclient import ApiClient
from tests.engine.migration_diagrams import V1, with_diagram
from tests.processes.test_analytics_api import sent_back


def expect(locator):
    from playwright.sync_api import expect as pw_expect
    return pw_expect(locator)


def test_heat_map_rankings_and_export(live, sign_in, shots):
    api = ApiClient(live.app)
    assert api.deploy(files={"two_lanes.bpmn": with_diagram(V1)}).status_code in (200, 201)
    sent_back(api)
    clock.advance(timedelta(minutes=5))

    page = sign_in("leader")
    page.goto("/analytics")
    page.wait_for_selector('body[data-analytics="loaded"]')
    page.select_option("#an-process", "two_lanes")
    page.wait_for_selector('#an-view[data-rendered="true"]')
    # each completed element carries its median time; the slow reply is the hottest
    expect(page.locator('#an-view .heat-badge[data-element="reply"]')).to_contain_text("次")
    expect(page.locator('#an-view .heat-badge[data-element="reply"].heat-4')).to_have_count(1)
    expect(page.locator('#an-view .heat-badge[data-element="draft"]')).to_contain_text("3次")
    expect(page.locator("#an-rework-districts tbody tr").first).to_contain_text("禅城区")
    expect(page.locator("#an-inspectors")).to_contain_text("张监督(禅城)")
    expect(page.locator("#an-enterprises")).to_contain_text("广东建工")
    shots(page, "1-heat-map")

    with page.expect_download() as download:
        page.click('a[data-export="district"][data-sort="rework"]')
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as fh:
        rows = list(load_workbook(io.BytesIO(fh.read())).active.iter_rows(values_only=True))
    assert rows[1][0] == "编号" and rows[2][0] == "禅城区"
    assert page.errors == []
