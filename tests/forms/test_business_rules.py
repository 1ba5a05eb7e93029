"""Business rules a form definition states and the server holds to whatever the client: text
that is required is not blank, dates are real and lie where the field says (relative to the
bureau's today), hostile values get a per-field Chinese message and never an exception."""
from __future__ import annotations

import glob
import json
import math
import os
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from engine.clock import clock
from forms.definition import FormDefinitionError, form_fields, load_form
from forms.checks import BLANK, OUT_OF_RANGE
from forms.schema import validate_submission

FORMS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "forms")
# 10:00 in Foshan on 2026-12-01 (02:00 UTC)
MORNING = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)


def bundled() -> dict[str, dict]:
    forms = {}
    for path in sorted(glob.glob(os.path.join(FORMS_DIR, "*.json"))):
        with open(path, "rb") as fh:
            form = load_form(fh.read(), os.path.basename(path))
        forms[form["id"]] = form
    return forms


def errors_of(form, data) -> dict:
    with pytest.raises(ValidationError) as info:
        validate_submission(form, data)
    return info.value.messages


@pytest.fixture
def today():
    clock.freeze(MORNING)
    yield "2026-12-01"
    clock.reset()


def dated(**rules) -> dict:
    field = {"type": "datetime", "key": "due", "subtype": "date", "label": "期限"}
    field.update({k: v for k, v in rules.items() if k == "disallowPassedDates"})
    field["validate"] = {k: v for k, v in rules.items() if k != "disallowPassedDates"}
    return {"id": "f", "components": [field]}


def required_texts(form: dict) -> list[str]:
    return [f["key"] for f in form_fields(form)
            if f["type"] in ("textfield", "textarea") and not f.get("readonly")
            and (f.get("validate") or {}).get("required") is True
            and not (f.get("conditional") or {}).get("hide")]


@pytest.mark.parametrize("form_id", sorted(bundled()))
def test_no_required_text_of_any_form_takes_spaces_only(form_id):
    form = bundled()[form_id]
    for key in required_texts(form):
        for blank in ("   ", "\t\n ", "\u3000"):         # spaces, tabs, an ideographic space
            errors = errors_of(form, {key: blank})
            nested = errors
            for part in key.split("."):
                nested = nested[part]
            assert nested == [BLANK], (form_id, key, blank)


def test_blank_optional_text_is_just_empty():
    form = {"id": "f", "components": [{"type": "textarea", "key": "note", "label": "备注"}]}
    assert validate_submission(form, {"note": "  "}) == {"note": "  "}


def test_a_deadline_must_lie_after_today_in_foshan(today):
    form = dated(required=True, minDate="today+1")
    assert errors_of(form, {"due": "2026-12-01"}) == {
        "due": ["须晚于今天, 最早 2026-12-02"]}
    assert errors_of(form, {"due": "2026-11-30"})["due"][0].startswith("须晚于今天")
    assert validate_submission(form, {"due": "2026-12-02"}) == {"due": "2026-12-02"}
    clock.freeze(datetime(2026, 12, 1, 16, 30, tzinfo=timezone.utc))    # 00:30 on the 2nd there
    assert "due" in errors_of(form, {"due": "2026-12-02"})


def test_form_js_disallow_passed_dates_means_today_or_later(today):
    form = dated(disallowPassedDates=True)
    assert errors_of(form, {"due": "2026-11-30"}) == {
        "due": ["不能早于今天 2026-12-01"]}
    assert validate_submission(form, {"due": "2026-12-01"}) == {"due": "2026-12-01"}


def test_other_bounds_and_fixed_dates(today):
    assert errors_of(dated(minDate="today+3"), {"due": "2026-12-03"}) == {
        "due": ["不能早于 2026-12-04"]}
    assert errors_of(dated(maxDate="today"), {"due": "2026-12-02"}) == {
        "due": ["不能晚于今天 2026-12-01"]}
    assert errors_of(dated(maxDate="2026-06-30"), {"due": "2026-07-01"}) == {
        "due": ["不能晚于 2026-06-30"]}
    stamp = {"id": "f", "components": [{"type": "datetime", "key": "at", "subtype": "datetime",
                                        "validate": {"minDate": "today"}}]}
    assert "at" in errors_of(stamp, {"at": "2026-11-30T23:00+08:00"})
    assert validate_submission(stamp, {"at": "2026-12-01T08:00"})
    assert validate_submission(stamp, {"at": "2026-11-30T16:30Z"})       # 00:30 on the 1st there


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
def test_dates_nobody_means_are_refused_on_every_date_field(value):
    assert errors_of(dated(), {"due": value}) == {"due": [OUT_OF_RANGE]}
    stamp = {"id": "f", "components": [{"type": "datetime", "key": "at", "subtype": "datetime"}]}
    assert errors_of(stamp, {"at": f"{value}T10:00"}) == {"at": [OUT_OF_RANGE]}


HOSTILE = [("x" * 20_000, "长度不能超过"), (12, "必须是文本"), (["a"], "必须是文本"),
           ({"a": 1}, "必须是文本"), (math.nan, "必须是文本"), (True, "必须是文本")]


@pytest.mark.parametrize("value,message", HOSTILE)
def test_hostile_text_values_get_a_chinese_message(value, message):
    form = bundled()["rectification_notice"]
    errors = errors_of(form, {"rect_location": "3号楼", "rect_issue": value,
                              "rect_requirement": "整改", "deadline": "2099-01-01"})
    assert list(errors) == ["rect_issue"] and message in errors["rect_issue"][0]


@pytest.mark.parametrize("value", [20_261_204, math.nan, math.inf, ["2026-12-04"], "2026-12-4",
                                   "2026-12-04'; DROP TABLE tasks;--", "٢٠٢٦-١٢-٠٤",
                                   "x" * 100_000, None])
def test_hostile_dates_get_a_chinese_message(today, value):
    form = bundled()["rectification_notice"]
    errors = errors_of(form, {"rect_location": "3号楼", "rect_issue": "临边防护缺失",
                              "rect_requirement": "整改", "deadline": value})
    assert list(errors) == ["deadline"]
    assert errors["deadline"][0].startswith(("不是有效的日期", "必填项")), errors


def test_hostile_numbers_get_a_chinese_message():
    form = {"id": "f", "components": [{"type": "number", "key": "n", "label": "数量"}]}
    for value in (math.nan, math.inf, "1e999", "9" * 200, [1], {"v": 1}):
        assert errors_of(form, {"n": value})["n"][0].startswith("不是有效的数字"), value


def test_every_date_a_person_plans_is_bounded_by_today():
    """Deadlines lie after today; planned dates (meetings, entry, installation) not before it."""
    after_today = {("rectification_notice", "deadline"), ("rectification_review", "deadline"),
                   ("talk_commit", "talk_commitment_deadline")}
    from_today = {("talk_schedule", "talk_date"), ("briefing_plan", "briefing_date"),
                  ("crane_dismantle_notice", "dismantle_date"),
                  ("crane_install_notice", "install_date"),
                  ("inspection_prepare", "inspection_date"), ("review_scheme", "planned_start")}
    forms = bundled()
    for form_id, key in after_today | from_today | {("crane_filing_start", "planned_entry_date")}:
        field = next(f for f in form_fields(forms[form_id]) if f["key"] == key)
        assert field["disallowPassedDates"] is True, (form_id, key)   # the date picker too
        if (form_id, key) in after_today:
            assert field["validate"]["minDate"] == "today+1", (form_id, key)
    entry = next(f for f in form_fields(forms["crane_filing_start"])
                 if f["key"] == "planned_entry_date")
    assert entry["validate"]["minDate"] == "today+3"


@pytest.mark.parametrize("bound", ["tomorrow", "today+", "today*2", 3, "2026-02-30", ""])
def test_a_bad_date_bound_is_named_when_the_form_is_deployed(bound):
    form = dated(minDate=bound)
    with pytest.raises(FormDefinitionError) as info:
        load_form(json.dumps(form))
    assert [p.path for p in info.value.problems] == ["components[0].validate.minDate"]


def test_date_bounds_belong_on_date_fields():
    form = {"id": "f", "components": [
        {"type": "textfield", "key": "t", "validate": {"minDate": "today"}},
        {"type": "datetime", "key": "d", "subtype": "date", "disallowPassedDates": "yes"}]}
    with pytest.raises(FormDefinitionError) as info:
        load_form(json.dumps(form))
    assert sorted(p.path for p in info.value.problems) == [
        "components[0].validate.minDate", "components[1].disallowPassedDates"]


def test_a_group_of_read_only_facts_is_left_out_of_the_submission():
    form = {"id": "f", "components": [
        {"type": "group", "path": "source_alarm", "components": [
            {"type": "textfield", "key": "reading", "readonly": True}]},
        {"type": "textfield", "key": "note"}]}
    # form-js submits read-only values; an empty object must not replace the process's own
    assert validate_submission(form, {"source_alarm": {"reading": "1"}, "note": "x"}) == {
        "note": "x"}
