"""Small diagrams for attack cases: one script task, a condition, a timer, a call."""
from __future__ import annotations

from xml.sax.saxutils import escape

from tests.bpmn import HEAD


def process(key: str, body: str, before: str = "") -> bytes:
    return (f'{HEAD}{before}<bpmn:process id="{key}" name="{key}" isExecutable="true">\n'
            f'{body}\n</bpmn:process>\n</bpmn:definitions>').encode()


def chain(*nodes: str) -> str:
    """start → nodes... → a user task 'after' → end; each node is (id, xml without flows)."""
    ids = ["start"] + [n.split('id="', 1)[1].split('"', 1)[0] for n in nodes] + ["after", "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>\n'
                    for i, (a, b) in enumerate(zip(ids, ids[1:])))
    return ('<bpmn:startEvent id="start"/>\n' + "\n".join(nodes)
            + '\n<bpmn:userTask id="after" name="之后"/>\n<bpmn:endEvent id="end"/>\n' + flows)


def script_process(script: str, key: str = "attack") -> bytes:
    task = (f'<bpmn:scriptTask id="script" name="脚本"><bpmn:script>{escape(script)}'
            '</bpmn:script></bpmn:scriptTask>')
    return process(key, chain(task))


def started(api, key: str, variables: dict | None = None) -> dict:
    """Starts an instance and returns it as the API shows it."""
    r = api.start(key, "FS-CC-2026-001", {"project_code": "FS-CC-2026-001", **(variables or {})})
    assert r.status_code == 201, r.get_json()
    return api.instance(r.get_json()["id"])
