"""流程设计 in the browser: open the deployed rectification in the bpmn-js modeler, rename a
task, validate, deploy version 2 while an instance of version 1 runs on; compare versions;
edit and deploy a task's form; server errors shown on their elements; every BPMN MIWG
reference model opens and renders."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from tests.apiclient import ApiClient

MIWG = "/work/shared/conformance/miwg"
MODELS = sorted(f for f in os.listdir(MIWG) if f.endswith(".bpmn")) if os.path.isdir(MIWG) else []
OLD_LABEL, NEW_LABEL = "下达整改通知", "下达整改通知书"


def expect(locator):
    from playwright.sync_api import expect as pw_expect
    return pw_expect(locator)


def open_process(page, key: str) -> None:
    page.click(f'#process-list button[data-key="{key}"]')
    page.wait_for_selector('#modeler[data-import="ok"]')


def _notice_data() -> dict:
    deadline = (datetime.now(timezone.utc) + timedelta(days=10)).date().isoformat()
    return {"rect_location": "3号楼外脚手架", "rect_issue": "脚手架连墙件缺失", "rect_requirement": "按方案补设连墙件",
            "deadline": deadline, "stop_work": False}


def test_rename_validate_deploy_v2_while_v1_runs_on(live, sign_in, shots):
    api = ApiClient(live.app)
    running = api.get("/api/v1/instances?process_key=rectification&state=running"
                      "&page_size=100").get_json()
    old = next(i for i in running
               if any(t["element_id"] == "rect_notice" for t in api.instance(i["id"])["tasks"]))
    assert old["version"] == 1

    page = sign_in("designer")
    assert page.url.endswith("/designer")                 # the designer's home
    open_process(page, "rectification")
    expect(page.locator("#current-title")).to_contain_text("版本 1")
    shots(page, "1-opened")

    page.click('#modeler [data-element-id="rect_notice"]')
    expect(page.locator("#prop-type")).to_have_text("用户任务")
    # the type field names each element type as the modeler's menus do (app/i18n/zh.js)
    assert page.evaluate("""() => ["bpmn:BusinessRuleTask", "bpmn:ManualTask", "bpmn:TextAnnotation",
        "bpmn:Collaboration"].map(JG.i18n.typeName)""") == ["业务规则任务", "手工任务", "文本注释", "协作"]
    expect(page.locator("#prop-name")).to_have_value(OLD_LABEL)
    page.fill("#prop-name", NEW_LABEL)
    page.press("#prop-name", "Enter")
    expect(page.locator('#modeler [data-element-id="rect_notice"]')).to_contain_text(NEW_LABEL)
    expect(page.locator("#current-title")).to_contain_text("已修改")

    page.click("#validate-btn")
    expect(page.locator("#validate-ok")).to_contain_text("部署后将成为版本 2")
    assert api.get("/api/v1/definitions/rectification").get_json()["versions"] == [1]

    page.click("#deploy-btn")
    expect(page.locator("#deploy-ok")).to_contain_text("已部署为版本 2")
    expect(page.locator("#current-title")).to_contain_text("版本 2")
    shots(page, "2-deployed")

    latest = api.get("/api/v1/definitions/rectification").get_json()
    assert latest["versions"] == [1, 2] and NEW_LABEL in latest["xml"]
    # the running instance keeps version 1: its open task still has the old name, and it
    # goes on to its next step under version 1
    before = api.instance(old["id"])
    assert before["version"] == 1
    notice = next(t for t in before["tasks"] if t["element_id"] == "rect_notice")
    assert notice["name"] == OLD_LABEL
    assert api.complete(notice["id"], _notice_data(), as_user="inspector_cc").status_code == 200
    after = api.instance(old["id"])
    assert after["version"] == 1 and [t["element_id"] for t in after["tasks"]] == ["rect_reply"]
    new = api.start("rectification", "FS-CC-2026-001", as_user="inspector_cc").get_json()
    assert new["version"] == 2 and api.instance(new["id"])["tasks"][0]["name"] == NEW_LABEL

    # compare: version 1 against version 2, the renamed task listed and marked
    page.click("#compare-open")
    summary = page.locator("#diff-summary")
    expect(summary).to_have_attribute("data-changed", "1")
    expect(summary).to_have_attribute("data-added", "0")
    expect(page.locator('#diff-list li[data-element="rect_notice"]')).to_contain_text(NEW_LABEL)
    expect(page.locator("#diff-a")).to_have_attribute("data-rendered", "true")
    assert page.locator('#diff-b [data-element-id="rect_notice"].diff-changed').count() >= 1
    shots(page, "3-compare")
    assert page.errors == []


def test_edit_a_task_form_and_deploy_it(live, sign_in, shots):
    api = ApiClient(live.app)
    before = api.get("/api/v1/definitions/rectification_reply?kind=form").get_json()
    page = sign_in("designer")
    page.goto("/designer?key=rectification")
    page.wait_for_selector('#modeler[data-import="ok"]')
    page.click('#modeler [data-element-id="rect_reply"]')
    page.click("#prop-form-btn")
    page.wait_for_selector('#form-editor[data-form="rectification_reply"]')
    first = page.locator("#form-editor .fjs-element[data-id]").nth(1)
    field_id = first.get_attribute("data-id")
    first.click(position={"x": 5, "y": 5})
    label = page.locator("#form-editor #bio-properties-panel-label")
    if not label.is_visible():
        page.locator("#form-editor .bio-properties-panel-group-header", has_text="常规").click()
    label.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("整改措施 (逐条说明)")
    # the properties panel applies typing after a debounce, as a person pausing would see
    page.wait_for_function("""(id) => JGDesigner.formEditor().saveSchema().components
        .some(c => c.id === id && c.label === '整改措施 (逐条说明)')""", arg=field_id)
    page.click("#form-validate-btn")
    expect(page.locator("#form-ok")).to_be_visible()
    page.click("#form-deploy-btn")
    expect(page.locator("#form-deployed")).to_contain_text(f"版本 {before['version'] + 1}")
    shots(page, "form-editor")
    import json
    after = api.get("/api/v1/definitions/rectification_reply?kind=form").get_json()
    labels = {c["id"]: c.get("label") for c in json.loads(after["xml"])["components"]}
    assert labels[field_id] == "整改措施 (逐条说明)"
    assert page.errors == []


def test_server_errors_are_shown_on_their_elements(live, sign_in, shots):
    page = sign_in("designer")
    page.goto("/designer?key=rectification")
    page.wait_for_selector('#modeler[data-import="ok"]')
    flow = page.evaluate("""() => {
        const m = JGDesigner.modeler, reg = m.get('elementRegistry');
        const flow = reg.filter(e => e.type === 'bpmn:SequenceFlow'
                                     && e.businessObject.conditionExpression)[0];
        m.get('modeling').updateProperties(flow, {conditionExpression:
            m.get('moddle').create('bpmn:FormalExpression', {body: 'passed ==== True'})});
        return flow.id;
    }""")
    page.click("#validate-btn")
    expect(page.locator("#validate-errors")).to_be_visible()
    expect(page.locator(f'.jg-error-overlay[data-element="{flow}"]')).to_contain_text("条件")
    assert page.locator(f'#modeler [data-element-id="{flow}"].jg-error').count() >= 1
    expect(page.locator(f'#problems li[data-element="{flow}"]')).to_be_visible()
    shots(page, "errors")
    api = ApiClient(live.app)
    assert "====" not in api.get("/api/v1/definitions/rectification").get_json()["xml"]


def test_every_miwg_reference_model_renders(live, sign_in, shots):
    assert len(MODELS) == 21, f"the BPMN MIWG reference models are missing from {MIWG}"
    page = sign_in("designer")
    page.goto("/designer")
    page.wait_for_selector("#process-list button")
    # one through the page's file input, as a designer would
    page.set_input_files("#import-file", os.path.join(MIWG, MODELS[0]))
    page.wait_for_selector('#modeler[data-import="ok"]')
    failures = {}
    for name in MODELS:
        with open(os.path.join(MIWG, name), encoding="utf-8") as fh:
            xml = fh.read()
        outcome = page.evaluate("""async (xml) => {
            try {
                const r = await JGDesigner.importXML(xml, {fileName: 'model.bpmn'});
                const shapes = document.querySelectorAll('#modeler .djs-shape').length;
                return {ok: true, warnings: r.warnings.length, shapes: shapes};
            } catch (err) { return {ok: false, error: String(err && err.message || err)}; }
        }""", xml)
        if not outcome["ok"] or outcome["shapes"] < 1:
            failures[name] = outcome
        shots(page, name.replace(".bpmn", ""))
    assert failures == {}
    assert page.errors == []
