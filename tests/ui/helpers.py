"""Steps on the task page that several browser tests take: a date typed into form-js's date
field, the submit button, the contractor's rectification reply filled in with one photo."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.apiclient import TINY_PNG


def pick_date(page, label: str, iso: str) -> None:
    """form-js's date field takes typed input in the browser's locale (zh-CN: yyyy/MM/dd)."""
    field = page.get_by_label(label)
    field.fill(iso.replace("-", "/"))
    field.press("Enter")


def submit(page) -> None:
    page.get_by_role("button", name="提交办理").click()
    expect(page.locator("#task-done")).to_be_visible()


def fill_reply(page, measures: str, photo: str) -> None:
    """The contractor's reply (整改并回复): the measures, 王建国 responsible, and a PNG named
    `photo` uploaded and listed."""
    page.get_by_label("整改措施").fill(measures)
    page.get_by_label("整改责任人").fill("王建国")
    page.locator("#upload-rect_evidence").set_input_files(
        files=[{"name": photo, "mimeType": "image/png", "buffer": TINY_PNG}])
    expect(page.locator('[data-field="rect_evidence"] li[data-attachment]')).to_have_count(1)
