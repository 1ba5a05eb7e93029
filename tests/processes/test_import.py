"""Data import from the districts' systems: what an admin sees when importing their files
(processes.importing), on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from engine.clock import utcnow
from engine.errors import Invalid
from engine.schema import instances, tasks
from forms.checks import LOCAL_ZONE
from processes.importing import Limits, run_import
from processes.importing.report import report_xlsx, template_xlsx
from processes.people import authenticate
from processes.schema import cranes, devices, documents, enterprises, projects, users

PROJECTS_CSV = (
    "项目编号,项目名称,所属区,项目地址,经度,纬度,施工单位信用代码,形象进度\n"
    "FS-IMP-001,禅城区导入测试项目一,禅城,汾江中路1号,113.11,23.02,91440600CON001,基础施工\n"
    "FS-IMP-002,南海区导入测试项目二,南海区,桂城,113.15,23.05,,主体施工\n")


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def project(engine, code):
    with engine.db.read() as conn:
        return conn.execute(select(projects).where(projects.c.code == code)).first()


def test_projects_from_a_gbk_csv_are_matched_by_header_and_imported_once(engine):
    result = run_import(engine, "projects", "区局项目.csv", PROJECTS_CSV.encode("gbk"), "admin")
    assert result["status"] == "done"
    assert (result["created"], result["failed"]) == (2, 0)
    assert result["mapping"]["经度"] == "lng" and result["mapping"]["所属区"] == "district"
    row = project(engine, "FS-IMP-001")
    assert (row.district, row.lng, row.lat, row.contractor_code) == \
        ("禅城区", 113.11, 23.02, "91440600CON001")
    again = run_import(engine, "projects", "区局项目.csv", PROJECTS_CSV.encode("gbk"), "admin")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    changed = PROJECTS_CSV.replace("基础施工", "主体结构施工至5层")
    third = run_import(engine, "projects", "p.csv", changed.encode(), "admin")
    assert (third["created"], third["updated"], third["unchanged"]) == (0, 1, 1)
    assert project(engine, "FS-IMP-001").progress == "主体结构施工至5层"


def test_a_bad_row_stops_all_rows_or_only_itself_as_chosen(engine):
    bad = PROJECTS_CSV + ("FS-IMP-003,坏行,火星区,,200,23,NO-SUCH-CODE,\n"
                          "FS-IMP-001,重复,禅城区,,,,,\n")
    rejected = run_import(engine, "projects", "p.csv", bad.encode(), "admin", mode="all")
    assert rejected["status"] == "rejected" and rejected["created"] == 0
    assert project(engine, "FS-IMP-002") is None
    errors = {e["row"]: " ".join(e["messages"]) for e in rejected["errors"]}
    assert set(errors) == {4, 5}
    assert "所属区应为" in errors[4] and "经度应在" in errors[4]
    assert "与第 2 行重复" in errors[5]
    partial = run_import(engine, "projects", "p.csv", bad.encode(), "admin", mode="valid")
    assert (partial["status"], partial["created"], partial["failed"]) == ("done", 2, 2)
    assert project(engine, "FS-IMP-002") is not None and project(engine, "FS-IMP-003") is None
    with engine.db.read() as conn:
        report = load_workbook(io.BytesIO(report_xlsx(conn, partial["id"])))
    lines = [[c.value for c in row] for row in report["错误明细"].iter_rows()]
    assert lines[0] == ["行号", "编号", "错误说明"]
    assert [line[0] for line in lines[1:]] == [4, 5]
    summary = {r[0].value: r[1].value for r in report["导入结果"].iter_rows()}
    assert summary["新增"] == 2 and summary["错误行数"] == 2


def test_an_unknown_reference_names_what_to_import_first(engine):
    data = "设备编号,项目编号,设备类型,设备名称\nDUST-X1,FS-NOPE,扬尘监测,扬尘仪\n"
    result = run_import(engine, "devices", "d.csv", data.encode(), "admin")
    assert result["errors"][0]["messages"] == ["项目 FS-NOPE 不存在, 请先导入项目"]


def test_enterprises_from_excel_with_a_mapping_the_person_chose(engine):
    data = xlsx([["单位全称", "代码", "单位性质"],
                 ["佛山市导入建设有限公司", "91440600IMP001", "施工单位"]])
    with pytest.raises(Invalid) as refused:
        run_import(engine, "enterprises", "e.xlsx", data, "admin")
    assert "缺少必填列" in refused.value.errors["mapping"][0]
    result = run_import(engine, "enterprises", "e.xlsx", data, "admin", mapping={
        "单位全称": "name", "代码": "code", "单位性质": "kind"})
    assert result["created"] == 1
    with engine.db.read() as conn:
        row = conn.execute(select(enterprises).where(
            enterprises.c.code == "91440600IMP001")).first()
    assert (row.name, row.kind) == ("佛山市导入建设有限公司", "contractor")


def test_formulas_macros_and_oversized_files_are_refused_in_chinese(engine):
    formula = xlsx([["统一社会信用代码", "企业名称", "企业类型"],
                    ["91440600IMP002", '=HYPERLINK("http://x","点我")', "施工单位"]])
    with pytest.raises(Invalid, match="含有公式"):
        run_import(engine, "enterprises", "e.xlsx", formula, "admin")
    with pytest.raises(Invalid, match="含有公式"):
        run_import(engine, "enterprises", "e.csv",
                   "统一社会信用代码,企业名称,企业类型\nX1,=1+1,施工单位\n".encode(), "admin")
    macro = io.BytesIO()
    with zipfile.ZipFile(macro, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/vbaProject.bin", b"\x00" * 10)
    with pytest.raises(Invalid, match="含有宏"):
        run_import(engine, "enterprises", "e.xlsx", macro.getvalue(), "admin")
    with pytest.raises(Invalid, match="不是有效的 Excel"):
        run_import(engine, "enterprises", "e.xlsx", b"PK\x03\x04 not a zip", "admin")
    with pytest.raises(Invalid, match="只接受"):
        run_import(engine, "enterprises", "e.xlsm", b"whatever", "admin")
    big = PROJECTS_CSV.encode()
    with pytest.raises(Invalid, match="上限"):
        run_import(engine, "projects", "p.csv", big, "admin", limits=Limits(max_bytes=100))
    with pytest.raises(Invalid, match="行上限"):
        run_import(engine, "projects", "p.csv", big, "admin", limits=Limits(max_rows=1))
    with engine.db.read() as conn:
        assert conn.execute(select(enterprises).where(
            enterprises.c.code == "91440600IMP002")).first() is None


def test_people_sign_in_with_their_initial_password_which_a_reimport_keeps(engine):
    data = ("登录账号,姓名,角色,所属区,所属企业信用代码,初始密码\n"
            "imp_inspector,王导入,监督员,顺德,,init-pass-1\n"
            "imp_contractor,李施工,施工单位,,91440600CON002,\n"
            "imp_admin,坏人,系统管理员,,,init-pass-1\n"
            "imp_nocompany,赵监理,监理单位,,,init-pass-1\n"
            "imp_citywide,钱领导,领导,,,init-pass-1\n")
    result = run_import(engine, "people", "u.csv", data.encode(), "admin", mode="valid")
    assert (result["created"], result["failed"]) == (2, 3)
    messages = {e["key"]: " ".join(e["messages"]) for e in result["errors"]}
    assert "角色应为" in messages["imp_admin"]
    assert "须填写所属企业" in messages["imp_nocompany"]
    assert "须填写所属区" in messages["imp_citywide"]
    with engine.db.read() as conn:
        who = authenticate(conn, "imp_inspector", "init-pass-1")
        assert (who.role, who.district) == ("inspector", "顺德区")
        assert authenticate(conn, "imp_contractor", "") is None     # no password: no sign-in
    again = data.replace("init-pass-1", "other-pass").replace("王导入", "王导入(改)")
    run_import(engine, "people", "u.csv", again.encode(), "admin", mode="valid")
    with engine.db.read() as conn:
        assert authenticate(conn, "imp_inspector", "init-pass-1").display_name == "王导入(改)"
        assert conn.execute(select(users.c.id).where(users.c.username == "imp_admin")
                            ).first() is None


def test_cranes_then_their_black_boxes(engine):
    crane_data = ("设备备案编号,项目编号,规格型号,使用状态,额定起重力矩(kN·m)\n"
                  "粤E-QZ-0001,FS-CC-2026-002,QTZ80,使用中,800\n")
    assert run_import(engine, "cranes", "c.csv", crane_data.encode(), "admin")["created"] == 1
    box = "设备编号,项目编号,设备类型,设备名称,所在塔吊编号\nBOX-0001,FS-CC-2026-002,塔吊黑匣子,黑匣子,粤E-QZ-0001\n"
    assert run_import(engine, "devices", "d.csv", box.encode(), "admin")["created"] == 1
    with engine.db.read() as conn:
        assert conn.execute(select(cranes.c.state).where(cranes.c.id == "粤E-QZ-0001")
                            ).scalar() == "in_service"
        assert conn.execute(select(devices.c.crane_id).where(devices.c.id == "BOX-0001")
                            ).scalar() == "粤E-QZ-0001"


def test_every_kind_has_a_template_whose_headers_map_back_to_its_fields(engine):
    from processes.importing import KINDS

    for name, kind in KINDS.items():
        book = load_workbook(io.BytesIO(template_xlsx(name)))
        headers = [c.value for c in next(book.worksheets[0].iter_rows())]
        assert headers[0].startswith("*")
        assert "填写说明" in book.sheetnames
        result = run_import(engine, name, "t.xlsx", template_xlsx(name), "admin", dry_run=True)
        assert sorted(v for v in result["mapping"].values()) == \
            sorted(f.name for f in kind.fields), name
        assert result["total"] == 0


def _deadline(days: int) -> str:
    return (utcnow().astimezone(LOCAL_ZONE) + timedelta(days=days)).date().isoformat()


def test_open_rectifications_wait_for_the_contractors_reply_with_their_deadline(bundled):
    engine = bundled
    data = ("原整改单号,项目编号,整改部位,存在问题,违反条款,整改要求,整改期限\n"
            f"CC-ZG-2026-017,FS-CC-2026-001,2号楼外架,连墙件缺失,JGJ 130,补设连墙件,{_deadline(5)}\n"
            f"CC-ZG-2026-018,FS-CC-2026-001,基坑东侧,临边防护缺失,,设置防护栏杆,{_deadline(-1)}\n")
    result = run_import(engine, "rectifications", "zg.csv", data.encode(), "inspector_cc",
                        mode="valid")
    assert (result["created"], result["failed"]) == (1, 1)
    assert "须晚于今天" in result["errors"][0]["messages"][0]
    with engine.db.read() as conn:
        running = conn.execute(select(instances).where(
            instances.c.process_key == "rectification", instances.c.state == "running")).all()
        assert len(running) == 1 and running[0].business_key == "FS-CC-2026-001"
        assert running[0].variables["deadline"] == _deadline(5)
        assert running[0].variables["import_ref"] == "CC-ZG-2026-017"
        open_steps = conn.execute(select(tasks.c.element_id, tasks.c.role, tasks.c.due_at).where(
            tasks.c.instance_id == running[0].id, tasks.c.state == "open")).all()
        notice = conn.execute(select(documents.c.kind, documents.c.status).where(
            documents.c.instance_id == running[0].id)).all()
    assert [(s.element_id, s.role) for s in open_steps] == [("rect_reply", "contractor")]
    assert open_steps[0].due_at is not None
    assert notice == [("rectification_notice", "generated")]
    again = run_import(engine, "rectifications", "zg.csv", data.encode(), "inspector_cc",
                       mode="valid")
    assert (again["created"], again["unchanged"]) == (0, 1)
    with engine.db.read() as conn:
        assert conn.execute(select(instances.c.id).where(
            instances.c.process_key == "rectification")).all() == [(running[0].id,)]
