"""Form definitions (form-js JSON) and the validation of submitted task data built from them."""
from __future__ import annotations

import copy
import glob
import json
import os

import pytest
from marshmallow import ValidationError

from forms.definition import FormDefinitionError, form_fields, load_form
from forms.checks import REQUIRED
from forms.schema import build_schema, validate_submission

FORMS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "forms")

REPLY = {
    "type": "default",
    "id": "Form_rect_reply_full",
    "name": "整改回复（完整）",
    "schemaVersion": 16,
    "components": [
        {"type": "text", "text": "## 整改回复单", "id": "Text_1"},
        {"type": "textfield", "key": "notice_no", "label": "整改通知书编号", "readonly": True},
        {"type": "textfield", "key": "responsible", "label": "整改责任人",
         "validate": {"required": True, "minLength": 2, "maxLength": 20}},
        {"type": "textfield", "key": "phone", "label": "联系电话",
         "validate": {"pattern": "1[3-9][0-9]{9}"}, "properties": {"hint": "手机号"}},
        {"type": "textarea", "key": "measures", "label": "整改措施",
         "validate": {"required": True, "maxLength": 500}},
        {"type": "number", "key": "cost", "label": "整改费用（万元）", "decimalDigits": 2,
         "validate": {"min": 0, "max": 10000}},
        {"type": "number", "key": "workers", "label": "投入人数", "decimalDigits": 0},
        {"type": "checkbox", "key": "confirmed", "label": "已全部整改完毕",
         "validate": {"required": True}},
        {"type": "checklist", "key": "items", "label": "整改项",
         "values": [{"label": "临边防护", "value": "edge"}, {"label": "脚手架", "value": "scaffold"},
                    {"label": "临时用电", "value": "power"}]},
        {"type": "radio", "key": "result", "label": "整改结论", "validate": {"required": True},
         "values": [{"label": "已完成", "value": "done"}, {"label": "部分完成", "value": "partial"}]},
        {"type": "select", "key": "level", "label": "风险等级",
         "values": [{"label": "一级", "value": 1}, {"label": "二级", "value": 2}]},
        {"type": "taglist", "key": "tags", "label": "标签", "valuesKey": "tag_options"},
        {"type": "datetime", "key": "done_on", "subtype": "date", "label": "完成日期",
         "validate": {"required": True}},
        {"type": "datetime", "key": "check_at", "subtype": "datetime", "label": "复查时间"},
        {"type": "datetime", "key": "start_time", "subtype": "time", "label": "开工时间"},
        {"type": "textarea", "key": "partial_reason", "label": "未完成原因",
         "validate": {"required": True}, "conditional": {"hide": "=result = \"done\""}},
        {"type": "group", "label": "施工单位", "path": "contractor", "components": [
            {"type": "textfield", "key": "name", "label": "单位名称", "validate": {"required": True}},
            {"type": "textfield", "key": "manager", "label": "项目经理"},
        ]},
        {"type": "group", "label": "无路径分组", "components": [
            {"type": "textfield", "key": "site_note", "label": "现场说明"},
        ]},
        {"type": "dynamiclist", "path": "photos_by_item", "label": "分项照片", "isRepeating": True,
         "components": [
             {"type": "textfield", "key": "item", "label": "分项", "validate": {"required": True}},
             {"type": "filepicker", "key": "files", "label": "照片", "multiple": True},
         ]},
        {"type": "filepicker", "key": "evidence", "label": "整改证明材料", "multiple": True,
         "validate": {"required": True}},
        {"type": "filepicker", "key": "signature", "label": "签字页"},
        {"type": "expression", "key": "total_label", "expression": "=\"合计\"",
         "computeOn": "change"},
        {"type": "textfield", "key": "internal_code", "label": "内部编号", "disabled": True},
        {"type": "html", "content": "<p>请如实填写</p>"},
        {"type": "image", "source": "/static/logo.png", "alt": "logo"},
        {"type": "spacer", "height": 30},
        {"type": "separator"},
        {"type": "iframe", "url": "https://example.com", "label": "说明"},
        {"type": "table", "label": "历史", "dataSource": "=history"},
        {"type": "button", "action": "submit", "label": "提交"},
    ],
}

GOOD = {
    "responsible": "李工",
    "phone": "13800138000",
    "measures": "已补设临边防护栏杆",
    "cost": 1.5,
    "workers": 12,
    "confirmed": True,
    "items": ["edge", "power"],
    "result": "done",
    "level": 2,
    "tags": ["安全"],
    "done_on": "2024-05-20",
    "check_at": "2024-05-21T09:30+08:00",
    "start_time": "08:00",
    "contractor": {"name": "某建设集团", "manager": "王经理"},
    "site_note": "",
    "photos_by_item": [{"item": "临边防护", "files": ["att-1", "att-2"]}],
    "evidence": ["att-3"],
    "signature": "att-4",
}


def problems_of(content) -> list:
    with pytest.raises(FormDefinitionError) as info:
        load_form(content)
    return info.value.problems


def errors_of(data, form=REPLY, partial=False) -> dict:
    with pytest.raises(ValidationError) as info:
        validate_submission(form, data, partial=partial)
    return info.value.messages


def with_components(*components) -> dict:
    return {"type": "default", "id": "Form_t", "components": list(components)}


# ---- load_form ----------------------------------------------------------------------------

def test_load_form_accepts_a_realistic_reply_form_with_every_field_type():
    form = load_form(json.dumps(REPLY, ensure_ascii=False).encode("utf-8"), "reply.form")
    assert form["id"] == "Form_rect_reply_full"
    assert form["name"] == "整改回复（完整）"


def test_every_bundled_form_loads():
    paths = sorted(glob.glob(os.path.join(FORMS_DIR, "*.json")))
    assert paths
    for path in paths:
        with open(path, "rb") as f:
            assert load_form(f.read(), os.path.basename(path))["id"]


def test_unknown_field_type_is_named_with_its_path():
    form = copy.deepcopy(REPLY)
    form["components"][3]["type"] = "signature"
    [problem] = problems_of(json.dumps(form))
    assert problem.path == "components[3].type"
    assert problem.message == "表单字段类型未知 'signature'"


def test_unknown_type_inside_a_group_is_named_with_its_nested_path():
    form = with_components({"type": "group", "components": [{"type": "rating", "key": "x"}]})
    [problem] = problems_of(json.dumps(form))
    assert problem.path == "components[0].components[0].type"


def test_duplicate_keys_are_refused_including_through_group_paths():
    form = with_components({"type": "textfield", "key": "a.name"},
                           {"type": "group", "path": "a",
                            "components": [{"type": "textfield", "key": "name"}]})
    [problem] = problems_of(json.dumps(form))
    assert problem.path == "components[1].components[0].key"
    assert "重复" in problem.message and "a.name" in problem.message


def test_same_key_in_a_group_with_its_own_path_is_not_a_duplicate():
    form = with_components({"type": "textfield", "key": "name"},
                           {"type": "group", "path": "owner",
                            "components": [{"type": "textfield", "key": "name"}]})
    assert load_form(json.dumps(form))["id"] == "Form_t"


def test_a_key_nested_under_another_field_is_refused():
    form = with_components({"type": "textfield", "key": "a"}, {"type": "textfield", "key": "a.b"})
    [problem] = problems_of(json.dumps(form))
    assert "冲突" in problem.message


def test_bad_pattern_and_wrong_constraint_types_are_all_reported():
    form = with_components(
        {"type": "textfield", "key": "a", "validate": {"pattern": "([a-z"}},
        {"type": "textfield", "key": "b", "validate": {"required": "yes", "maxLength": 2.5}},
        {"type": "number", "key": "c", "validate": {"min": 10, "max": 1}},
        {"type": "textfield", "key": "bad key"},
    )
    paths = {p.path: p.message for p in problems_of(json.dumps(form))}
    assert "正则表达式无效" in paths["components[0].validate.pattern"]
    assert "components[1].validate.required" in paths
    assert "components[1].validate.maxLength" in paths
    assert "components[2].validate.min" in paths
    assert "components[3].key" in paths


def test_choice_fields_need_static_values_or_a_dynamic_source():
    form = with_components({"type": "select", "key": "s"},
                           {"type": "radio", "key": "r", "values": [{"value": 1}]},
                           {"type": "select", "key": "ok", "valuesKey": "options"})
    paths = [p.path for p in problems_of(json.dumps(form))]
    assert paths == ["components[0].values", "components[1].values[0]"]


def test_non_json_is_refused():
    [problem] = problems_of(b'{"id": "Form_1", "components": [')
    assert problem.path == "$" and "不是有效的 JSON" in problem.message


def test_not_an_object_is_refused():
    [problem] = problems_of("[1, 2]")
    assert "必须是 JSON 对象" in problem.message


def test_missing_id_and_components_are_reported():
    paths = [p.path for p in problems_of('{"type": "default"}')]
    assert paths == ["id", "components"]


def test_invalid_id_is_refused():
    [problem] = problems_of('{"id": "表单 1", "components": []}')
    assert problem.path == "id"


def test_deeply_nested_json_is_refused_without_crashing():
    deep = '{"id": "F", "components": [], "x": ' + "[" * 5000 + "]" * 5000 + "}"
    [problem] = problems_of(deep)
    assert problem.path == "$"


def test_oversized_form_is_refused():
    [problem] = problems_of(b" " * (1024 * 1024 + 1))
    assert "1 MB" in problem.message


def test_properties_must_be_string_pairs():
    form = with_components({"type": "textfield", "key": "a", "properties": {"x": 1}})
    [problem] = problems_of(json.dumps(form))
    assert problem.path == "components[0].properties"


def test_form_fields_flattens_groups_and_keeps_dynamic_lists_whole():
    fields = {f["key"]: f for f in form_fields(REPLY)}
    assert "contractor.name" in fields and "site_note" in fields
    assert [c["key"] for c in fields["photos_by_item"]["components"]] == ["item", "files"]
    assert "total_label" not in fields                 # computed, not an input
    assert not any(f["type"] in ("text", "html", "button", "group") for f in fields.values())


# ---- validate_submission ------------------------------------------------------------------

def test_a_complete_reply_is_accepted_and_cleaned():
    cleaned = validate_submission(REPLY, GOOD)
    assert cleaned["contractor"] == {"name": "某建设集团", "manager": "王经理"}
    assert cleaned["done_on"] == "2024-05-20"
    assert cleaned["workers"] == 12 and cleaned["cost"] == 1.5
    assert json.loads(json.dumps(cleaned)) == cleaned


def test_missing_required_field_says_required_in_chinese():
    data = {k: v for k, v in GOOD.items() if k != "measures"}
    assert errors_of(data) == {"measures": [REQUIRED]}
    assert REQUIRED == "必填项"


def test_empty_values_of_required_fields_count_as_missing():
    errors = errors_of({**GOOD, "responsible": "", "evidence": [], "confirmed": False,
                        "result": None})
    assert errors == {k: [REQUIRED] for k in ("responsible", "evidence", "confirmed", "result")}


def test_text_length_is_checked_with_a_readable_message():
    errors = errors_of({**GOOD, "responsible": "李" * 21})
    assert errors == {"responsible": ["长度需在 2 到 20 之间"]}


def test_text_without_max_length_is_capped():
    errors = errors_of({**GOOD, "site_note": "x" * 10_001})
    assert "长度不能超过 10000" in errors["site_note"][0]


def test_pattern_must_match_the_whole_value():
    assert "格式不正确" in errors_of({**GOOD, "phone": "电话13800138000"})["phone"][0]
    assert "phone" in errors_of({**GOOD, "phone": "138001380001"})


def test_number_out_of_range_and_not_a_number():
    assert "数值需在 0 到 10000 之间" in errors_of({**GOOD, "cost": 10001})["cost"][0]
    assert errors_of({**GOOD, "cost": "很多"}) == {"cost": ["不是有效的数字"]}
    assert errors_of({**GOOD, "cost": True}) == {"cost": ["不是有效的数字"]}
    assert "最多 2 位小数" in errors_of({**GOOD, "cost": 1.234})["cost"][0]
    assert "整数" in errors_of({**GOOD, "workers": 2.5})["workers"][0]


def test_value_not_among_the_choices_is_refused():
    not_choice = ["不是有效的选项"]
    assert errors_of({**GOOD, "result": "maybe"}) == {"result": not_choice}
    assert errors_of({**GOOD, "level": "2"}) == {"level": not_choice}      # options are numbers
    assert errors_of({**GOOD, "items": ["edge", "roof"]}) == {"items": {"1": not_choice}}


def test_dynamic_options_accept_any_plain_value():
    assert validate_submission(REPLY, {**GOOD, "tags": ["甲", "乙"]})["tags"] == ["甲", "乙"]
    assert "tags" in errors_of({**GOOD, "tags": [{"x": 1}]})


def test_bad_dates_and_times_are_refused():
    assert errors_of({**GOOD, "done_on": "2024-02-30"}) == {
        "done_on": ["不是有效的日期"]}
    assert "done_on" in errors_of({**GOOD, "done_on": "20240520"})
    assert "不是有效的日期时间" in errors_of({**GOOD, "check_at": "2024-05-21 9点"})["check_at"][0]
    assert "不是有效的时间" in errors_of({**GOOD, "start_time": "25:00"})["start_time"][0]


def test_unknown_fields_are_refused():
    assert errors_of({**GOOD, "is_admin": True}) == {"is_admin": ["未知字段"]}


def test_disabled_field_cannot_be_submitted_but_readonly_and_computed_values_are_dropped():
    assert errors_of({**GOOD, "internal_code": "X1"}) == {
        "internal_code": ["只读字段不可提交"]}
    cleaned = validate_submission(REPLY, {**GOOD, "notice_no": "篡改", "total_label": "合计"})
    assert "notice_no" not in cleaned and "total_label" not in cleaned


def test_conditionally_hidden_field_is_not_required():
    assert "partial_reason" not in validate_submission(REPLY, GOOD)


def test_group_path_fields_are_validated_nested():
    data = {**GOOD, "contractor": {"manager": "王经理", "extra": 1}}
    assert errors_of(data) == {"contractor": {"name": [REQUIRED],
                                              "extra": ["未知字段"]}}
    missing = {k: v for k, v in GOOD.items() if k != "contractor"}
    assert errors_of(missing) == {"contractor": {"name": [REQUIRED]}}


def test_dynamic_list_rows_are_validated_one_by_one():
    rows = [{"item": "脚手架", "files": []}, {"files": ["../etc/passwd"]}, "x"]
    errors = errors_of({**GOOD, "photos_by_item": rows})["photos_by_item"]
    assert set(errors) == {"1", "2"}
    assert errors["1"]["item"] == [REQUIRED]
    assert "不是有效的附件" in errors["1"]["files"]["0"][0]


def test_required_dynamic_list_must_be_sent_but_may_have_no_rows():
    form = with_components({"type": "dynamiclist", "path": "findings", "validate": {"required": True},
                            "components": [{"type": "textfield", "key": "d"}]})
    assert validate_submission(form, {"findings": []}) == {"findings": []}
    assert errors_of({}, form) == {"findings": [REQUIRED]}


def test_dynamic_list_is_capped_at_200_rows():
    rows = [{"item": f"项{i}"} for i in range(201)]
    assert "最多 200 行" in errors_of({**GOOD, "photos_by_item": rows})["photos_by_item"][0]


def test_filepicker_takes_attachment_ids_list_or_single():
    cleaned = validate_submission(REPLY, {**GOOD, "evidence": ["a-1", "b_2"], "signature": "c3"})
    assert cleaned["evidence"] == ["a-1", "b_2"] and cleaned["signature"] == "c3"
    assert "evidence" in errors_of({**GOOD, "evidence": "a-1"})
    assert "signature" in errors_of({**GOOD, "signature": ["c3"]})


def test_partial_draft_skips_required_but_still_checks_values():
    assert validate_submission(REPLY, {"measures": "草稿"}, partial=True) == {"measures": "草稿"}
    draft_rows = {"photos_by_item": [{"files": ["att-1"]}]}
    assert validate_submission(REPLY, draft_rows, partial=True) == draft_rows
    assert errors_of({"cost": -1}, partial=True) == {"cost": ["数值需在 0 到 10000 之间"]}
    assert "x" in errors_of({"x": 1}, partial=True)


def test_empty_optional_values_pass():
    cleaned = validate_submission(REPLY, {**GOOD, "phone": "", "cost": None, "workers": "",
                                          "check_at": None, "items": [], "signature": None})
    assert cleaned["phone"] == "" and cleaned["cost"] is None and cleaned["workers"] is None


def test_data_must_be_an_object():
    assert errors_of(["x"]) == {"data": ["数据必须是对象"]}


def test_keys_that_shadow_schema_methods_still_work():
    form = with_components({"type": "textfield", "key": "load", "validate": {"required": True}},
                           {"type": "textfield", "key": "fields"})
    assert validate_submission(form, {"load": "a", "fields": "b"}) == {"load": "a", "fields": "b"}


def test_built_schemas_are_cached_per_form_content():
    assert build_schema(REPLY) is build_schema(copy.deepcopy(REPLY))
    assert build_schema(REPLY, partial=True) is not build_schema(REPLY)
    changed = copy.deepcopy(REPLY)
    changed["components"][2]["validate"]["maxLength"] = 30
    assert build_schema(changed) is not build_schema(REPLY)
    assert validate_submission(changed, {**GOOD, "responsible": "李" * 25})["responsible"] == "李" * 25
