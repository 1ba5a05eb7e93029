"""Start forms: every process a person starts has a form-js form bound to its start event; the
API shows it with the definition and checks a start against it (and against the records it
names) before anything runs; a start refused inside the process says why in Chinese."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from engine import instances as commands
from engine.errors import Invalid
from engine.schema import instances
from tests.processes.test_crane_filing import CRANE, deploy_crane, entry_date, start as file_crane
from tests.processes.test_rectification import MONDAY
from tests.processes.test_warning_talk import P1

PERSON_STARTED = ("rectification", "warning_talk", "inspection", "supervision_briefing",
                  "expert_review", "closing", "crane_filing")


def started_count(engine) -> int:
    with engine.db.read() as conn:
        return conn.execute(select(func.count()).select_from(instances)).scalar_one()


def test_every_process_a_person_starts_shows_its_start_form(api, bundled):
    for key in PERSON_STARTED:
        r = api.get(f"/api/v1/definitions/{key}", as_user="inspector_cc")
        assert r.status_code == 200, r.get_json()
        form = r.get_json()["start_form"]
        assert form["id"] == f"{key}_start", key
        project = next(c for c in form["components"] if c["key"] == "project_code")
        assert project["validate"]["required"] is True and project["label"] == "工程项目"
    for key in ("duty_video_weekly", "duty_progress_monthly"):      # started by a timer
        assert api.get(f"/api/v1/definitions/{key}").get_json()["start_form"] is None
    crane = api.get("/api/v1/definitions/crane_filing").get_json()["start_form"]
    assert [c["key"] for c in crane["components"]] == ["project_code", "crane_id",
                                                       "planned_entry_date"]


def test_a_crane_filing_without_its_entry_date_is_refused_before_it_starts(api, engine):
    from engine.clock import clock

    clock.freeze(MONDAY)
    deploy_crane(api)
    r = api.start("crane_filing", P1, {"project_code": P1, "crane_id": CRANE},
                  as_user="contractor_gdjg")
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"planned_entry_date": ["必填项"]}
    assert started_count(engine) == 0
    r = file_crane(api, engine, days_ahead=5)
    assert r.status_code == 201 and r.get_json()["state"] == "running"
    assert r.get_json()["incidents"] == []


def test_a_start_refused_inside_the_process_says_why_in_chinese(api, engine):
    """What a process starting a crane filing without the form would meet: the check in the
    process refuses, in Chinese, and nothing is kept."""
    from engine.clock import clock

    clock.freeze(MONDAY)
    deploy_crane(api)
    for variables, message in (
            ({}, "缺少计划进场日期, 无法核验备案时限"),
            ({"planned_entry_date": "下周一"}, "计划进场日期无效"),
            ({"planned_entry_date": entry_date(1)}, "起重机械应在进场前至少 3 天备案, 距计划进场仅 1 天")):
        with pytest.raises(Invalid) as info:
            with engine.unit("contractor_gdjg") as unit:
                commands.start(engine, unit, "crane_filing", P1,
                               {"project_code": P1, "crane_id": CRANE, **variables})
        assert info.value.message.startswith(message)
    assert started_count(engine) == 0


def test_records_the_start_names_must_exist(api, engine):
    from engine.clock import clock

    clock.freeze(MONDAY)
    deploy_crane(api)
    entry = entry_date(5)
    cases = [
        ("FS-XX-0000-000", {"crane_id": CRANE},
         {"project_code": ["工程项目 FS-XX-0000-000 不存在"]}),
        (None, {"project_code": P1, "crane_id": "QZ-NONE"},
         {"crane_id": ["起重机械 QZ-NONE 未登记"]}),
        (None, {"project_code": P1, "crane_id": "QZ-SD001-01"},
         {"crane_id": ["起重机械 QZ-SD001-01 不属于该工程"]}),
        ("FS-CC-2026-002", {"project_code": P1, "crane_id": CRANE},
         {"project_code": ["与业务键 FS-CC-2026-002 不一致"]}),
    ]
    for business_key, variables, errors in cases:
        r = api.start("crane_filing", business_key, {**variables, "planned_entry_date": entry},
                      as_user="admin")
        assert r.status_code == 422 and r.get_json()["errors"] == errors, r.get_json()
    assert started_count(engine) == 0
    # the project code alone (no business key) or the business key alone both start it
    by_code = api.start("crane_filing", None, {"project_code": P1, "crane_id": CRANE,
                                               "planned_entry_date": entry}, as_user="admin")
    assert by_code.status_code == 201 and by_code.get_json()["business_key"] == P1


@pytest.mark.parametrize("variables,field", [
    ({"crane_id": "Q" * 100_000}, "crane_id"), ({"crane_id": 42}, "crane_id"),
    ({"crane_id": "   "}, "crane_id"), ({"planned_entry_date": math.nan}, "planned_entry_date"),
    ({"planned_entry_date": "0001-01-01"}, "planned_entry_date"),
    ({"planned_entry_date": "9999-12-31"}, "planned_entry_date"),
    ({"planned_entry_date": ["2026-12-10"]}, "planned_entry_date"),
    ({"project_code": {"code": P1}}, "project_code"), ({"extra": "x"}, "extra")])
def test_hostile_start_variables_are_refused_per_field(api, engine, variables, field):
    from engine.clock import clock

    clock.freeze(MONDAY)
    deploy_crane(api)
    body = {"project_code": P1, "crane_id": CRANE, "planned_entry_date": entry_date(5),
            **variables}
    r = api.start("crane_filing", None, body, as_user="contractor_gdjg")
    assert r.status_code in (413, 422), r.get_json()
    errors = r.get_json()["errors"]
    assert field in errors or "variables" in errors, errors
    assert all("\u4e00" <= m[0][0] <= "\u9fff" for m in errors.values()), errors
    assert started_count(engine) == 0
