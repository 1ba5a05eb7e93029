"""The import through the API and `flask import`, the project's overview, its coordinates and
the map's sites, as their users meet them."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import insert, select

from processes.schema import cranes, projects

DEVICES_CSV = ("设备编号,项目编号,设备类型,设备名称\n"
               "DUST-IMP1,FS-CC-2026-001,扬尘监测,扬尘仪\n"
               "DUST-IMP2,FS-NOPE,扬尘监测,扬尘仪\n")


def upload(api, kind, data: bytes, name="d.csv", as_user="admin", **form):
    return api.call("POST", "/api/v1/imports", as_user, content_type="multipart/form-data",
                    data={"kind": kind, "file": (io.BytesIO(data), name), **form})


def test_an_admin_checks_a_file_then_imports_the_valid_rows_and_downloads_the_report(api):
    r = api.get("/api/v1/imports/template", query_string={"kind": "devices"})
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    checked = upload(api, "devices", DEVICES_CSV.encode(), dry_run="true")
    assert checked.status_code == 200
    body = checked.get_json()
    assert body["status"] == "checked" and body["created"] == 1 and body["failed"] == 1
    assert body["proposed"]["设备类型"] == "device_type"
    done = upload(api, "devices", DEVICES_CSV.encode(), mode="valid")
    assert done.status_code == 201 and done.get_json()["created"] == 1
    report = api.get("/api/v1/imports/report", query_string={"job": done.get_json()["id"]})
    book = load_workbook(io.BytesIO(report.data))
    rows = [[c.value for c in row] for row in book["错误明细"].iter_rows()]
    assert rows[1][:2] == [3, "DUST-IMP2"] and "不存在" in rows[1][2]
    listed = api.get("/api/v1/imports").get_json()
    assert [j["status"] for j in listed] == ["done", "checked"]


def test_bad_requests_are_clear_chinese_422s_and_only_admins_import(api):
    assert upload(api, "rockets", b"a,b\n1,2\n").status_code == 422
    r = upload(api, "devices", b"")
    assert r.status_code == 422 and "文件为空" in r.get_json()["message"]
    r = upload(api, "devices", DEVICES_CSV.encode(), mapping="{not json")
    assert r.status_code == 422 and "mapping" in r.get_json()["errors"]
    r = upload(api, "devices", DEVICES_CSV.encode(), mapping='{"设备编号": "no_such_field"}')
    assert r.status_code == 422 and "列对应关系" in r.get_json()["message"]
    r = upload(api, "devices", DEVICES_CSV.encode(), mode="some")
    assert r.status_code == 422
    assert api.get("/api/v1/imports/report", query_string={"job": "nope"}).status_code == 404
    assert upload(api, "devices", DEVICES_CSV.encode(), as_user="inspector_cc").status_code == 403
    assert api.get("/api/v1/imports/template", "leader",
                   query_string={"kind": "devices"}).status_code == 403


def test_flask_import_prints_the_counts_and_saves_the_report(app, tmp_path):
    path = tmp_path / "设备.csv"
    path.write_text(DEVICES_CSV, encoding="utf-8")
    report = tmp_path / "报告.xlsx"
    runner = app.test_cli_runner()
    out = runner.invoke(args=["import", "devices", str(path), "--mode", "valid",
                              "--report", str(report)])
    assert out.exit_code == 0, out.output
    assert "已导入: 共 2 行, 新增 1, 更新 0, 未变化 0, 错误 1" in out.output
    assert "第 3 行 DUST-IMP2: 项目 FS-NOPE 不存在" in out.output
    assert report.exists()
    strict = runner.invoke(args=["import", "devices", str(path)])
    assert strict.exit_code == 1 and "存在错误, 全部未导入" in strict.output
    wrong = runner.invoke(args=["import", "rockets", str(path)])
    assert wrong.exit_code == 2 and "未知的导入类型" in wrong.output


def test_the_project_overview_shows_the_site_to_those_who_may_see_it(api, engine):
    with engine.db.write() as conn:
        conn.execute(insert(cranes).values(id="QZ-IMP-1", project_code="FS-CC-2026-001",
                                           model="QTZ63", state="in_service"))
    r = api.get("/api/v1/projects/FS-CC-2026-001/overview", "contractor_gdjg")
    assert r.status_code == 200
    body = r.get_json()
    assert body["project"]["name"] == "禅城区季华路商业综合体"
    assert body["parties"]["contractor"]["name"] == "广东建工集团有限公司"
    assert body["facts"]["cranes"] == 1 and body["state_name"] == "塔吊使用中"
    assert {d["id"] for d in body["devices"]} >= {"DUST-CC001", "VIDEO-CC001"}
    assert body["can_locate"] is False
    assert api.get("/api/v1/projects/FS-NH-2026-001/overview",
                   "contractor_gdjg").status_code == 403
    assert api.get("/api/v1/projects/NOPE/overview").status_code == 404


def test_coordinates_are_set_in_foshan_and_the_map_filters_by_district_and_theme(api, engine):
    r = api.call("PUT", "/api/v1/projects/FS-CC-2026-002/location", "inspector_cc",
                 json={"lng": 113.09, "lat": 23.03})
    assert r.status_code == 200
    r = api.call("PUT", "/api/v1/projects/FS-CC-2026-002/location", "inspector_cc",
                 json={"lng": 116.4, "lat": 39.9})
    assert r.status_code == 422 and "佛山市范围" in r.get_json()["message"]
    assert api.call("PUT", "/api/v1/projects/FS-NH-2026-001/location", "inspector_cc",
                    json={"lng": 113.1, "lat": 23.0}).status_code == 403
    with engine.db.read() as conn:
        assert conn.execute(select(projects.c.lng, projects.c.lat).where(
            projects.c.code == "FS-CC-2026-002")).first() == (113.09, 23.03)
    with engine.db.write() as conn:
        conn.execute(insert(cranes).values(id="QZ-IMP-2", project_code="FS-NH-2026-002",
                                           model="QTZ80", state="in_service"))
    city = api.get("/api/v1/projects/map", "leader").get_json()
    assert len(city["sites"]) == 12 and city["unlocated"] == 0
    cranes_only = api.get("/api/v1/projects/map", "leader",
                          query_string={"theme": "cranes"}).get_json()
    assert [s["code"] for s in cranes_only["sites"]] == ["FS-NH-2026-002"]
    assert cranes_only["sites"][0]["color"] == "#2980b9"
    chancheng = api.get("/api/v1/projects/map", "leader_cc").get_json()
    assert {s["district"] for s in chancheng["sites"]} == {"禅城区"}
    assert api.get("/api/v1/projects/map", "leader",
                   query_string={"theme": "x"}).status_code == 422
    assert api.get("/api/v1/projects/map", "contractor_gdjg").status_code == 403


def test_flask_import_of_open_rectifications_leaves_them_at_the_reply(sqlite_app, tmp_path):
    """Without a background worker the command issues the notices itself."""
    from datetime import timedelta

    from engine.clock import utcnow
    from engine.schema import tasks
    from forms.checks import LOCAL_ZONE
    from processes.bundled import deploy_bundled
    from processes.demo import load_reference

    engine = sqlite_app.extensions["jianguan.engine"]
    assert engine.wake is None
    with engine.db.write() as conn:
        load_reference(conn)
    deploy_bundled(engine, actor="system:test")
    deadline = (utcnow().astimezone(LOCAL_ZONE) + timedelta(days=10)).date().isoformat()
    path = tmp_path / "整改.csv"
    path.write_text("原整改单号,项目编号,整改部位,存在问题,整改要求,整改期限,是否责令停工\n"
                    f"NH-2026-9,FS-NH-2026-001,基坑北侧,支护变形,加固支护,{deadline},否\n",
                    encoding="utf-8")
    out = sqlite_app.test_cli_runner().invoke(args=["import", "rectifications", str(path)])
    assert out.exit_code == 0, out.output
    assert "新增 1" in out.output
    with engine.db.read() as conn:
        steps = conn.execute(select(tasks.c.element_id).where(tasks.c.state == "open")).all()
    assert [s.element_id for s in steps] == ["rect_reply"]
