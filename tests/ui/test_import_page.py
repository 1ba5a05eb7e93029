"""数据导入 in the browser: an admin downloads a template, checks a district's file, sees the
headers matched and each bad row explained, imports the valid rows and downloads the report;
only admins have the page."""
from __future__ import annotations

from io import BytesIO

from openpyxl import load_workbook

CSV = ("设备编号,项目编号,设备类型,设备名称,备注\n"
       "DUST-UI-1,FS-CC-2026-001,扬尘监测,南门扬尘仪,新装\n"
       "DUST-UI-2,FS-NOPE,扬尘监测,北门扬尘仪,\n").encode("gbk")


def expect(locator):
    from playwright.sync_api import expect as pw_expect
    return pw_expect(locator)


def test_an_admin_checks_maps_and_imports_a_district_file(live, sign_in, shots):
    page = sign_in("admin")
    page.goto("/imports")
    page.select_option("#i-kind", "devices")
    with page.expect_download() as template:
        page.click("#template-link")
    book = load_workbook(BytesIO(open(template.value.path(), "rb").read()))
    assert next(book.worksheets[0].iter_rows(values_only=True))[0] == "*设备编号"

    page.set_input_files("#i-file", files=[{"name": "南海设备.csv", "mimeType": "text/csv",
                                            "buffer": CSV}])
    page.select_option("#i-mode", "valid")
    page.click("#check-btn")
    expect(page.locator("#result-title")).to_have_text("校验结果: 仅校验, 未导入")
    expect(page.locator('[data-count="新增"]')).to_have_text("1")
    expect(page.locator('[data-count="错误"]')).to_have_text("1")
    expect(page.locator("#result-errors")).to_contain_text("项目 FS-NOPE 不存在, 请先导入项目")
    expect(page.locator('select[data-header="设备类型"]')).to_have_value("device_type")
    expect(page.locator('select[data-header="备注"]')).to_have_value("")
    shots(page, "1-checked")

    page.click("#run-btn")
    expect(page.locator("#result-title")).to_have_text("导入结果: 已导入")
    expect(page.locator("#jobs tbody tr")).to_have_count(2)
    with page.expect_download() as report:
        page.click("#report-link")
    rows = list(load_workbook(BytesIO(open(report.value.path(), "rb").read()))["错误明细"]
                .iter_rows(values_only=True))
    assert rows[1][:2] == (3, "DUST-UI-2")
    shots(page, "2-imported")

    # the same file again: nothing new
    page.click("#check-btn")
    expect(page.locator('[data-count="未变化"]')).to_have_text("1")
    expect(page.locator('[data-count="新增"]')).to_have_text("0")
    assert page.errors == []


def test_the_page_is_for_admins_only(live, sign_in):
    page = sign_in("leader")
    page.goto("/imports")
    expect(page.locator("h1")).to_have_text("无权访问")
    assert page.locator("nav").get_by_text("数据导入").count() == 0
