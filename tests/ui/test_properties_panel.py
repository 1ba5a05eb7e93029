"""流程设计's properties panel: a designer sets a gateway flow's condition, a timer and a lane's
role in the panel (no XML by hand), deploys, and the engine runs the diagram with them; the
panel speaks Chinese."""
from __future__ import annotations

import re

from tests.apiclient import ApiClient
from tests.bpmn import drawing, linked

KEY = "props_demo"
H = 'isHorizontal="true"'         # a pool's or lane's shape


def modeler_file(definitions_id: str, body: str, di: str) -> str:
    """A .bpmn file as the modeler saves it: the process (and collaboration) with its drawing."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
            '  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
            'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"\n'
            f'  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="{definitions_id}" '
            'targetNamespace="http://jianguan.foshan/bpmn">\n'
            f"{body}\n{di}\n</bpmn:definitions>")


def pooled(key: str, name: str, lane: str, nodes: str, body: str) -> str:
    """The process `key` in the pool `pool`, both named `name`, its nodes (ids, space-separated)
    in the one lane lane1 named `lane`."""
    refs = "".join(f"<bpmn:flowNodeRef>{node}</bpmn:flowNodeRef>" for node in nodes.split())
    return (f'<bpmn:collaboration id="collab"><bpmn:participant id="pool" name="{name}" '
            f'processRef="{key}"/></bpmn:collaboration>\n'
            f'<bpmn:process id="{key}" name="{name}" isExecutable="true">\n'
            f'<bpmn:laneSet id="ls"><bpmn:lane id="lane1" name="{lane}">{refs}</bpmn:lane>'
            f"</bpmn:laneSet>\n{body}\n</bpmn:process>")


DIAGRAM = modeler_file("d", pooled(
    KEY, "属性面板演示", "待定", "start fill gw wait end_a end_b", """
<bpmn:startEvent id="start" name="开始"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
<bpmn:userTask id="fill" name="填写数量"/>
<bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="gw"/>
<bpmn:exclusiveGateway id="gw" name="数量多?" default="f_no"/>
<bpmn:sequenceFlow id="f_yes" name="多" sourceRef="gw" targetRef="wait"/>
<bpmn:sequenceFlow id="f_no" name="少" sourceRef="gw" targetRef="end_b"/>
<bpmn:intermediateCatchEvent id="wait" name="等两天"><bpmn:timerEventDefinition id="td"/></bpmn:intermediateCatchEvent>
<bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end_a"/>
<bpmn:endEvent id="end_a" name="结束"/><bpmn:endEvent id="end_b" name="结束"/>"""), drawing("collab", {
    "pool": (100, 60, 760, 260, H), "lane1": (130, 60, 730, 260, H), "start": (170, 142, 36, 36),
    "fill": (250, 120, 100, 80), "gw": (400, 135, 50, 50, 'isMarkerVisible="true"'),
    "wait": (520, 142, 36, 36), "end_a": (640, 142, 36, 36), "end_b": (520, 252, 36, 36),
}, {"f1": ("start", "fill"), "f2": ("fill", "gw"), "f_yes": ("gw", "wait"),
    "f_no": [(425, 185), (425, 270), (520, 270)], "f3": ("wait", "end_a")}))

# Latin words allowed in the panel: names of standards and languages; 「...」 quotes code
ALLOWED = {"ID", "XML", "BPMN", "DMN", "ISO", "Python", "JUEL", "FEEL"}
DATA = {"props_paid", "props_more", "m_paid"}     # the diagram's own names shown in the panel


def expect(locator):
    from playwright.sync_api import expect as pw_expect
    return pw_expect(locator)


def select(page, element_id: str) -> None:
    page.evaluate("""(id) => { const m = JGDesigner.modeler;
        m.get('selection').select(m.get('elementRegistry').get(id)); }""", element_id)


def open_group(page, group: str) -> None:
    header = page.locator(f'#properties-panel [data-group-id="group-{group}"] .bio-properties-panel-group-header')
    expect(header).to_be_visible()
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def model(page, script: str):
    return page.evaluate(f"""() => {{ const reg = JGDesigner.modeler.get('elementRegistry');
        const bo = (id) => reg.get(id).businessObject; return {script}; }}""")


def latin_words(text: str) -> set[str]:
    text = re.sub(r"「[^」]*」", " ", text)
    return {w for w in re.findall(r"[A-Za-z][A-Za-z_.-]*", text) if w not in ALLOWED}


def test_condition_timer_and_lane_role_edited_in_the_panel_deploy_and_run(live, sign_in, shots):
    api = ApiClient(live.app)
    page = sign_in("designer")
    page.evaluate("(xml) => JGDesigner.importXML(xml, {fileName: 'props_demo.bpmn'})", DIAGRAM)
    page.wait_for_selector('#modeler[data-import="ok"]')
    expect(page.locator("#properties-panel")).to_be_visible()

    # the sequence flow's condition (Python), as typed
    select(page, "f_yes")
    open_group(page, "jg-condition")
    page.fill("#bio-properties-panel-jg-condition-expression", "amount > 10")
    page.wait_for_function("""() => { const c = JGDesigner.modeler.get('elementRegistry')
        .get('f_yes').businessObject.conditionExpression; return c && c.body === 'amount > 10'; }""")
    shots(page, "1-condition")

    # the timer: a duration, typed bare and quoted by the panel
    select(page, "wait")
    open_group(page, "jg-timer")
    timer_type = page.locator("#bio-properties-panel-jg-timer-type")
    expect(timer_type).to_have_value("timeDuration")
    timer_type.select_option("timeCycle")            # a type chosen before its value stays
    expect(timer_type).to_have_value("timeCycle")
    timer_type.select_option("timeDuration")
    page.fill("#bio-properties-panel-jg-timer-value", "P2D")
    page.wait_for_function("""() => { const d = JGDesigner.modeler.get('elementRegistry')
        .get('wait').businessObject.eventDefinitions[0];
        return d.timeDuration && d.timeDuration.body === '"P2D"'; }""")
    shots(page, "2-timer")

    # the lane's role: 监督员 (inspectors work its tasks)
    select(page, "lane1")
    open_group(page, "jg-lane")
    page.select_option("#bio-properties-panel-jg-lane-role", "inspector")
    assert model(page, "bo('lane1').name") == "监督员"
    expect(page.locator("#bio-properties-panel-jg-lane-role")).to_have_value("inspector")
    shots(page, "3-lane")

    page.click("#validate-btn")
    expect(page.locator("#validate-ok")).to_be_visible()
    page.click("#deploy-btn")
    expect(page.locator("#deploy-ok")).to_contain_text("已部署为版本 1")

    deployed = api.get(f"/api/v1/definitions/{KEY}").get_json()
    xml = deployed["xml"]
    assert "amount &gt; 10</bpmn:conditionExpression>" in xml
    assert "<bpmn:timeDuration" in xml and '"P2D"</bpmn:timeDuration>' in xml
    assert 'name="监督员"' in xml

    # the engine runs it: an inspector starts it, the task is the inspector's, the condition
    # takes the timer branch and the instance waits on the timer
    started = api.start(KEY, "FS-CC-2026-001", as_user="inspector_cc")
    assert started.status_code in (200, 201), started.get_json()
    instance = api.instance(started.get_json()["id"])
    task = next(t for t in instance["tasks"] if t["element_id"] == "fill")
    assert task["role"] == "inspector"
    assert api.complete(task["id"], {"amount": 12}, as_user="inspector_cc").status_code == 200
    after = api.instance(instance["id"])
    assert after["state"] == "running" and after["tasks"] == []
    assert [w.get("element_id") for w in after["waiting"]] == ["wait"], after["waiting"]
    assert page.errors == []


def test_panel_text_is_chinese(live, sign_in, shots):
    page = sign_in("designer")
    seen = {}
    for diagram, elements in ((DIAGRAM, ("f_yes", "wait", "lane1", "fill", "gw", "start", "pool")),
                              (MORE, ("t_script", "t_wait", "t_each")),
                              (TASKS, ("s_grade", "r_rule", "c_call", "w_cond"))):
        page.evaluate("(xml) => JGDesigner.importXML(xml, {fileName: 'x.bpmn'})", diagram)
        page.wait_for_selector('#modeler[data-import="ok"]')
        for element_id in elements:
            select(page, element_id)
            closed = page.locator("#properties-panel .bio-properties-panel-group-header:not(.open)")
            for _ in range(closed.count()):     # each click opens one: the list shrinks
                closed.first.click()
            seen[element_id] = page.locator("#properties-panel").inner_text()
        shots(page, f"panel-{len(seen)}")
    latin = {i: latin_words(text) - DATA for i, text in seen.items()}
    assert {i: w for i, w in latin.items() if w} == {}, latin
    assert "条件表达式 (Python)" in seen["f_yes"] and "定时器类型" in seen["wait"]
    assert "办理角色" in seen["lane1"] and "表单标识" in seen["fill"]
    assert "关联键名称" in seen["t_wait"] and "实例数 (Python)" in seen["t_each"]


MORE = modeler_file("d2", '<bpmn:message id="m_paid" name="props_paid"/>\n' + pooled(
    "props_more", "属性面板演示二", "监督员", "start t_form t_script t_wait t_each end", linked(
        '<bpmn:startEvent id="start" name="开始"/>', '<bpmn:userTask id="t_form" name="登记"/>',
        '<bpmn:scriptTask id="t_script" name="计算"/>',
        '<bpmn:receiveTask id="t_wait" name="等付款" messageRef="m_paid"/>', '<bpmn:userTask '
        'id="t_each" name="逐个复核"><bpmn:multiInstanceLoopCharacteristics/></bpmn:userTask>',
        '<bpmn:endEvent id="end" name="结束"/>')), drawing("collab", {
    "pool": (100, 60, 860, 200, H), "lane1": (130, 60, 830, 200, H), "start": (160, 142, 36, 36),
    "t_form": (230, 120, 100, 80), "t_script": (370, 120, 100, 80), "t_wait": (510, 120, 100, 80),
    "t_each": (650, 120, 100, 80), "end": (800, 142, 36, 36),
}, {"f1": ("start", "t_form"), "f2": ("t_form", "t_script"), "f3": ("t_script", "t_wait"),
    "f4": ("t_wait", "t_each"), "f5": ("t_each", "end")}))


def fill(page, element_id: str, group: str, entry: str, value: str) -> None:
    select(page, element_id)
    open_group(page, group)
    page.fill(f"#bio-properties-panel-{entry}", value)
    page.keyboard.press("Tab")        # leave the field: the debounced value is written


def test_form_script_correlation_and_multi_instance_edited_in_the_panel(live, sign_in, shots):
    api = ApiClient(live.app)
    page = sign_in("designer")

    # a deployed diagram naming its multi-instance collection by variable keeps it
    page.click('#process-list button[data-key="inspection"]')
    page.wait_for_selector('#modeler[data-import="ok"]')
    select(page, "handle_findings")
    open_group(page, "jg-multi")
    expect(page.locator("#bio-properties-panel-jg-multi-collection")).to_have_value("findings")
    exported = page.evaluate("() => JGDesigner.xml()")
    assert "<bpmn:loopDataInputRef>findings</bpmn:loopDataInputRef>" in exported
    assert "<bpmn:loopDataOutputRef>finding_scores</bpmn:loopDataOutputRef>" in exported
    expect(page.locator("#bio-properties-panel-jg-multi-element")).to_have_value("finding")
    fill(page, "handle_findings", "jg-multi", "jg-multi-collection", "open_findings")
    fill(page, "handle_findings", "jg-multi", "jg-multi-element", "item")
    exported = page.evaluate("() => JGDesigner.xml()")
    assert "<bpmn:loopDataInputRef>open_findings</bpmn:loopDataInputRef>" in exported
    assert re.search(r'<bpmn:inputDataItem id="item" name="item"', exported)

    page.evaluate("(xml) => JGDesigner.importXML(xml, {fileName: 'props_more.bpmn'})", MORE)
    page.wait_for_selector('#modeler[data-import="ok"]')
    fill(page, "t_form", "jg-form", "jg-form-key", "briefing_end")
    fill(page, "t_script", "jg-script", "jg-script", "total = amount * 2")
    select(page, "t_wait")
    open_group(page, "message")             # the standard group: which message, its name
    expect(page.locator("#bio-properties-panel-messageName")).to_have_value("props_paid")
    fill(page, "t_wait", "message", "messageName", "props_payment")
    fill(page, "t_wait", "jg-correlation", "jg-correlation-key", "order_no")
    fill(page, "t_wait", "jg-correlation", "jg-correlation-expression", "order_no")
    fill(page, "t_wait", "jg-correlation", "jg-message-variable", "payment")
    fill(page, "t_each", "jg-multi", "jg-multi-cardinality", "2")
    shots(page, "1-edited")
    page.wait_for_function("""() => JGDesigner.modeler.get('elementRegistry').get('t_each')
        .businessObject.loopCharacteristics.loopCardinality""")

    page.click("#validate-btn")
    expect(page.locator("#validate-ok")).to_be_visible()
    page.click("#deploy-btn")
    expect(page.locator("#deploy-ok")).to_contain_text("已部署为版本 1")
    xml = api.get("/api/v1/definitions/props_more").get_json()["xml"]
    for part in ('<spiffworkflow:property name="formKey" value="briefing_end"',
                 "<bpmn:script>total = amount * 2</bpmn:script>",
                 '<bpmn:message id="m_paid" name="props_payment">',
                 "<spiffworkflow:propertyId>order_no</spiffworkflow:propertyId>",
                 "<spiffworkflow:messageVariable>payment</spiffworkflow:messageVariable>",
                 ">2</bpmn:loopCardinality>"):
        assert part in xml, part

    started = api.start("props_more", "FS-CC-2026-001", {"amount": 3, "order_no": "A-1"},
                        as_user="inspector_cc")
    assert started.status_code in (200, 201), started.get_json()
    instance_id = started.get_json()["id"]
    (task,) = api.instance(instance_id)["tasks"]
    assert task["element_id"] == "t_form" and task["form_key"] == "briefing_end"
    done = api.complete(task["id"], {"supervision_end_reason": "演示"}, as_user="inspector_cc")
    assert done.status_code == 200, done.get_json()
    waiting = api.instance(instance_id)
    assert waiting["variables"]["total"] == 6
    assert [w.get("correlation") for w in waiting["waiting"]] == [{"order_no": "A-1"}]
    r = api.message("props_payment", {"order_no": "A-1"}, {"amount": 6})
    assert r.status_code == 200 and r.get_json()["correlated"] == [instance_id], r.get_json()
    paid = api.instance(instance_id)
    assert paid["variables"]["payment"] == {"amount": 6}
    assert [t["element_id"] for t in paid["tasks"]] == ["t_each", "t_each"]
    assert page.errors == []


TASKS = modeler_file("d3", (
    '<bpmn:process id="props_tasks" name="属性面板演示三" isExecutable="true">\n' + linked(
        '<bpmn:startEvent id="start"/>', '<bpmn:serviceTask id="s_grade" name="评定"/>',
        '<bpmn:businessRuleTask id="r_rule" name="判定"/>',
        '<bpmn:callActivity id="c_call" name="约谈"/>', '<bpmn:intermediateCatchEvent '
        'id="w_cond" name="等条件"><bpmn:conditionalEventDefinition id="cd"/>'
        '</bpmn:intermediateCatchEvent>', '<bpmn:endEvent id="end"/>') + "\n</bpmn:process>"),
    drawing("props_tasks", {
        "start": (100, 142, 36, 36), "s_grade": (170, 120, 100, 80), "r_rule": (310, 120, 100, 80),
        "c_call": (450, 120, 100, 80), "w_cond": (590, 142, 36, 36), "end": (670, 142, 36, 36),
    }, {"f1": ("start", "s_grade"), "f2": ("s_grade", "r_rule"), "f3": ("r_rule", "c_call"),
        "f4": ("c_call", "w_cond"), "f5": ("w_cond", "end")}))


def test_service_decision_call_and_conditional_event_edited_in_the_panel(live, sign_in, shots):
    page = sign_in("designer")
    page.evaluate("(xml) => JGDesigner.importXML(xml, {fileName: 'props_tasks.bpmn'})", TASKS)
    page.wait_for_selector('#modeler[data-import="ok"]')
    fill(page, "s_grade", "jg-service", "jg-service-operator", "closing.grade")
    fill(page, "s_grade", "jg-service", "jg-service-result", "grade")
    fill(page, "s_grade", "jg-service", "jg-service-parameters",
         "total: float = 90\nzero_sections: int = 0")
    page.check("#bio-properties-panel-jg-async")
    fill(page, "r_rule", "jg-service", "jg-decision", "talk_trigger")
    fill(page, "c_call", "jg-service", "jg-called-element", "warning_talk")
    fill(page, "w_cond", "jg-event-condition", "jg-event-condition-expression", "grade == 'A'")
    shots(page, "1-edited")
    xml = page.evaluate("() => JGDesigner.xml()")
    for part in ('<spiffworkflow:serviceTaskOperator id="closing.grade" resultVariable="grade">',
                 '<spiffworkflow:parameter id="total" type="float" value="90" />',
                 '<spiffworkflow:parameter id="zero_sections" type="int" value="0" />',
                 '<spiffworkflow:property name="async" value="true" />',
                 "<spiffworkflow:calledDecisionId>talk_trigger</spiffworkflow:calledDecisionId>",
                 'calledElement="warning_talk"',
                 "<bpmn:condition xsi:type=\"bpmn:tFormalExpression\">grade == 'A'</bpmn:condition>"):
        assert part in xml, (part, xml)
    # the server finds the operation, the decision and the called process: it would deploy
    page.click("#validate-btn")
    expect(page.locator("#validate-ok")).to_be_visible()
    select(page, "s_grade")
    expect(page.locator("#bio-properties-panel-jg-service-parameters")).to_have_value(
        "total: float = 90\nzero_sections: int = 0")
    assert page.errors == []
