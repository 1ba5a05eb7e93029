"""Designer scripts that try to escape: refused at deploy when visible in the source, an
incident at run time otherwise, and the server keeps serving."""
from __future__ import annotations

import pytest

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="escape" name="逃逸" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script"/>
    <bpmn:scriptTask id="script" name="脚本"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="after"/>
    <bpmn:userTask id="after" name="之后"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def diagram(script: str) -> bytes:
    escaped = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return TEMPLATE.format(script=escaped).encode()


@pytest.mark.parametrize("script", [
    "import os",
    "x = __import__('os')",
    "x = ().__class__.__bases__[0].__subclasses__()",
    "x = open('/etc/passwd').read()",
    "x = eval('1 + 1')",
    "exec('x = 1')",
])
def test_visible_escapes_are_refused_at_deploy(api, script):
    r = api.deploy(files={"escape.bpmn": diagram(script)})
    assert r.status_code == 422, r.get_json()
    problems = r.get_json()["errors"]["escape.bpmn"]
    assert problems[0]["line"] == 6 and problems[0]["element_id"] == "script"


@pytest.mark.parametrize("script, words", [
    ("name = '__cla' + 'ss__'\nx = getattr(1, name)", "__class__"),
    ("x = '{0.__class__}'.format(1)", "format"),
    ("g = (i for i in [1])\nx = getattr(g, 'gi_' + 'frame')", "gi_frame"),
    ("while True:\n    pass", "超时"),
    ("x = 'a' * (10 ** 10)", "内存"),
    ("x = undefined_name + 1", "undefined_name"),
])
def test_runtime_escapes_become_incidents(api, script, words):
    assert api.deploy(files={"escape.bpmn": diagram(script)}).status_code == 201
    r = api.start("escape", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001"})
    assert r.status_code == 201, r.get_json()
    inst = api.instance(r.get_json()["id"])
    assert inst["state"] == "error" and inst["tasks"] == []
    incident = inst["incidents"][0]
    assert incident["element_id"] == "script" and words in incident["message"]
    assert api.get("/api/v1/definitions").status_code == 200   # still serving


def test_ordinary_scripts_run(api):
    script = "total = sum([n * 2 for n in range(5)])\nlabel = '共' + str(total) + '分'"
    assert api.deploy(files={"escape.bpmn": diagram(script)}).status_code == 201
    iid = api.start("escape", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001"}).get_json()["id"]
    inst = api.instance(iid)
    assert inst["state"] == "running"
    assert inst["variables"]["total"] == 20 and inst["variables"]["label"] == "共20分"
