"""监督收尾 (closing): the contractor's self-assessment, the inspector's rating graded by JGJ 59,
the pre-completion check that every rectification is closed and every crane dismantled, then
the supervision report."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, update

from processes.schema import cranes, devices
from tests.processes.test_warning_talk import P1, deploy, document_kinds, finish, open_elements

FORMS = ("closing_self", "closing_rating", "closing_pending", "closing_report")
SELF = {"self_total": 86, "self_summary": "主体结构已封顶, 各项检查合格",
        "completion_proof": ["file-proof"]}
REPORT = {"report_summary": "共监督检查12次, 下发整改通知3份, 均已闭合",
          "acceptance_date": "2026-12-20", "report_conclusion": "符合要求"}


def start(api):
    deploy(api, bpmn=["closing"], forms=FORMS)
    r = api.start("closing", P1, {"project_code": P1}, as_user="contractor_gdjg")
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    finish(api, iid, "close_self", "contractor_gdjg", SELF)
    return iid


def rate(api, iid, total, zero=0):
    finish(api, iid, "close_rate", "inspector_cc", {"rating_total": total,
                                                    "rating_zero_sections": zero,
                                                    "rating_opinion": "按JGJ 59评分"})


@pytest.mark.parametrize("total, zero, grade", [(86, 0, "优良"), (75, 0, "合格"),
                                                (65, 0, "不合格"), (92, 1, "不合格")])
def test_rating_follows_jgj59(api, total, zero, grade):
    iid = start(api)
    rate(api, iid, total, zero)
    assert api.instance(iid)["variables"]["grade"] == grade


def test_nothing_open_goes_straight_to_the_report(api, engine):
    iid = start(api)
    rate(api, iid, 86)
    assert open_elements(api, iid) == ["close_report"]
    finish(api, iid, "close_report", "inspector_cc", REPORT)
    assert api.instance(iid)["state"] == "completed"
    assert document_kinds(engine, iid) == ["safety_assessment", "supervision_report"]


def test_open_rectification_and_standing_crane_block_until_closed(api, engine):
    deploy(api, bpmn=["warning_talk", "rectification"], dmn=["talk_triggers"])
    open_rect = api.start("rectification", P1, {"project_code": P1}, as_user="inspector_cc")
    assert open_rect.status_code == 201
    with engine.db.write() as conn:
        conn.execute(update(cranes).where(cranes.c.id == "QZ-CC001-01").values(state="in_service"))
    iid = start(api)
    rate(api, iid, 86)
    assert open_elements(api, iid) == ["close_pending"]
    items = api.instance(iid)["variables"]["precheck_result"]["open_items"]
    assert any("整改" in i for i in items) and any("QZ-CC001-01" in i for i in items)
    api.post(f"/api/v1/instances/{open_rect.get_json()['id']}/cancel", as_user="inspector_cc",
             json={"reason": "已现场复查闭合"})
    finish(api, iid, "close_pending", "inspector_cc", {"pending_note": "整改已闭合, 塔吊待拆"})
    assert open_elements(api, iid) == ["close_pending"]          # the crane still stands
    with engine.db.write() as conn:
        conn.execute(update(cranes).where(cranes.c.id == "QZ-CC001-01").values(state="dismantled"))
    finish(api, iid, "close_pending", "inspector_cc", {"pending_note": "塔吊已拆除注销"})
    assert open_elements(api, iid) == ["close_report"]


def test_roles_outside_the_lanes_are_refused(api):
    iid = start(api)
    rating = api.open_task(iid, "close_rate")
    assert api.complete(rating["id"], {"rating_total": 99, "rating_zero_sections": 0,
                                       "rating_opinion": "自己打分"},
                        as_user="contractor_gdjg").status_code == 403
    bad = api.complete(rating["id"], {"rating_total": 120, "rating_zero_sections": 0,
                                      "rating_opinion": "超出范围"}, as_user="inspector_cc")
    assert bad.status_code == 422 and "rating_total" in bad.get_json()["errors"]


def test_deep_pit_monitoring_must_have_ended(api, engine):
    with engine.db.write() as conn:
        conn.execute(insert(devices).values(id="PIT-TEST-1", project_code=P1, device_type="pit",
                                            name="深基坑监测站", state="online", latest={}))
    iid = start(api)
    rate(api, iid, 86)
    items = api.instance(iid)["variables"]["precheck_result"]["open_items"]
    assert items == ["深基坑监测 PIT-TEST-1 未结束"]
    with engine.db.write() as conn:
        conn.execute(update(devices).where(devices.c.id == "PIT-TEST-1").values(state="ended"))
    finish(api, iid, "close_pending", "inspector_cc", {"pending_note": "监测单位已出具监测总结"})
    assert open_elements(api, iid) == ["close_report"]
