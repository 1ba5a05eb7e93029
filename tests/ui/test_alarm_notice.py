"""The notice task of a rectification started by a device alarm shows the inspector the alarm
(read-only) in the browser; one started by hand shows no empty alarm box."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.apiclient import ApiClient

# 禅城 FS-CC-2026-003: no rectification of its own in the demo, so the alarm starts one
ALARM = {"alarm_id": "ui-alarm-1", "project_code": "FS-CC-2026-003", "device_id": "DUST-CC003",
         "device_type": "dust", "type": "pm10", "level": "alarm", "value": 231.5,
         "threshold": 200.0, "at": "2026-12-01T01:30:00+00:00"}


def test_the_alarm_is_on_the_notice_task_only_when_there_is_one(live, sign_in, shots):
    api = ApiClient(live.app)
    r = api.message("rectification_alarm", {"project_code": ALARM["project_code"]}, ALARM)
    [alarmed] = r.get_json()["started"]
    by_hand = api.start("rectification", "FS-CC-2026-001", as_user="inspector_cc").get_json()["id"]
    page = sign_in("inspector_cc")
    for iid, shown in ((alarmed, True), (by_hand, False)):
        task = api.open_task(iid, "rect_notice", "inspector_cc")
        page.goto(f"/tasks/{task['id']}")
        expect(page.locator(".fjs-form")).to_be_visible()
        if shown:
            for label, value in (("监测设备", "DUST-CC003 (扬尘监测)"), ("报警类型", "PM10"),
                                 ("监测值", "231.5 µg/m³"), ("限值", "200 µg/m³"),
                                 ("报警时间", "2026-12-01 09:30")):
                expect(page.get_by_label(label)).to_have_value(value)
                expect(page.get_by_label(label)).not_to_be_editable()
            expect(page.get_by_label("部位")).to_have_value("DUST-CC003 (扬尘监测)")
            shots(page, "alarm-notice-task")
        else:
            expect(page.get_by_label("部位")).to_be_visible()
            expect(page.get_by_label("监测值")).to_have_count(0)
            shots(page, "notice-task-by-hand")
