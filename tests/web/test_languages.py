"""The API answers in Chinese, and in English when the request asks (Accept-Language: en)."""
from __future__ import annotations

import re

CJK = re.compile(r"[\u4e00-\u9fff]")
EN = {"Accept-Language": "en"}


def test_a_field_error_in_chinese_by_default_and_in_english_when_asked(api):
    zh = api.post("/api/v1/auth/token", as_user=None, json={"username": "admin"})
    en = api.post("/api/v1/auth/token", as_user=None, json={"username": "admin"}, headers=EN)
    assert zh.status_code == en.status_code == 422
    assert zh.get_json()["errors"] == {"password": ["必填项"]}
    assert zh.get_json()["message"] == "提交的数据有误"
    assert en.get_json()["errors"] == {"password": ["required"]}
    assert en.get_json()["message"] == "validation failed"


def test_a_length_error_keeps_its_numbers_in_both_languages(api):
    body = {"username": "", "password": "x"}
    zh = api.post("/api/v1/auth/token", as_user=None, json=body).get_json()
    en = api.post("/api/v1/auth/token", as_user=None, json=body, headers=EN).get_json()
    if zh["errors"]:                      # the login schema may accept an empty name
        assert all(CJK.search(m) for msgs in zh["errors"].values() for m in msgs)
        assert not any(CJK.search(m) for msgs in en["errors"].values() for m in msgs)


def test_a_deploy_lint_error_in_both_languages(api):
    with open("tests/engine/processes/two_lanes.bpmn", "rb") as fh:
        xml = fh.read().replace(b'targetRef="reply"/>', b'targetRef="nowhere"/>')
    zh = api.deploy(files={"dangling.bpmn": xml})
    assert zh.status_code == 422
    (problem,) = [p["message"] for p in zh.get_json()["errors"]["dangling.bpmn"]
                  if "nowhere" in p["message"]]
    assert problem == "顺序流的 targetRef 指向不存在的元素 'nowhere'"
    assert zh.get_json()["message"] == "部署失败: 模型有错误"
    en = api.call("POST", "/api/v1/definitions", as_user="designer", headers=dict(EN),
                  data={"files": [(__import__("io").BytesIO(xml), "dangling.bpmn")]},
                  content_type="multipart/form-data")
    assert en.status_code == 422
    messages = [p["message"] for p in en.get_json()["errors"]["dangling.bpmn"]]
    assert "sequence flow targetRef points nowhere" in messages
    assert not any(CJK.search(m) for m in messages)
    assert en.get_json()["message"] == "deploy rejected: the models have errors"


def test_policy_404_and_403_in_both_languages(api):
    zh = api.get("/api/v1/tasks/no-such-task", as_user="inspector_cc")
    en = api.get("/api/v1/tasks/no-such-task", as_user="inspector_cc", headers=dict(EN))
    assert zh.status_code == en.status_code == 404
    assert zh.get_json()["message"] == "任务不存在: no-such-task"
    assert en.get_json()["message"] == "task no-such-task not found"

    zh = api.get("/api/v1/audit", as_user="contractor_gdjg")
    en = api.get("/api/v1/audit", as_user="contractor_gdjg", headers=dict(EN))
    assert zh.status_code == en.status_code == 403
    assert CJK.search(zh.get_json()["message"]) and "无权执行此操作" in zh.get_json()["message"]
    assert en.get_json()["message"].startswith("role contractor may not ")


def test_without_a_token_the_401_follows_the_language_too(api):
    zh = api.get("/api/v1/tasks", as_user=None)
    en = api.get("/api/v1/tasks", as_user=None, headers=dict(EN))
    assert zh.status_code == en.status_code == 401
    assert zh.get_json()["message"].startswith("需要登录")
    assert en.get_json()["message"] == "missing token"


def test_a_page_switches_with_lang_and_keeps_it(app):
    """Pages: ?lang=en (remembered for the session); an unknown language changes nothing."""
    from engine.i18n import get_locale

    app.add_url_rule("/locale-probe", "locale_probe", lambda: get_locale())
    client = app.test_client()
    assert client.get("/locale-probe").text == "zh"
    assert client.get("/locale-probe?lang=en").text == "en"
    assert client.get("/locale-probe").text == "en"
    assert client.get("/locale-probe?lang=fr").text == "en"
    assert client.get("/locale-probe", headers={"Accept-Language": "zh-CN"}).text == "en"
    assert client.get("/locale-probe?lang=zh").text == "zh"
    assert app.test_client().get("/locale-probe", headers=EN).text == "en"
