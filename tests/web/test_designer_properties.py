"""What the designer's properties panel relies on, checked without a browser: the spiffworkflow
moddle descriptor keeps every extension of the bundled diagrams through bpmn-js's parser and
writer (an undescribed element of a described namespace would be dropped on import), and the
panel's lane → role table is the policy's."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from lxml import etree

from processes import policy

ROOT = Path(__file__).resolve().parents[2]
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
APP = ROOT / "web" / "static" / "app"

ROUND_TRIP = r"""
const [root, ...files] = process.argv.slice(2);
const BpmnModdle = require(root + '/node_modules/bpmn-moddle/dist/index.cjs');
const spiff = require(root + '/web/static/app/spiffworkflow-moddle.js');
const fs = require('fs');
(async () => {
  const out = {};
  for (const f of files) {
    const moddle = new BpmnModdle({ spiffworkflow: spiff });
    const parsed = await moddle.fromXML(fs.readFileSync(f, 'utf8'));
    out[f] = { warnings: parsed.warnings.map(w => w.message),
               xml: (await moddle.toXML(parsed.rootElement)).xml };
  }
  process.stdout.write(JSON.stringify(out));
})();
"""

CORRELATED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:message id="m_paid" name="paid"/>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:receiveTask id="wait" name="等付款" messageRef="m_paid"><bpmn:extensionElements>
      <spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>order_no</spiffworkflow:propertyId>
      <spiffworkflow:expression>order["no"]</spiffworkflow:expression></spiffworkflow:processVariableCorrelation>
      <spiffworkflow:preScript>a = 1</spiffworkflow:preScript>
      <spiffworkflow:instructionsForEndUser>说明</spiffworkflow:instructionsForEndUser>
    </bpmn:extensionElements></bpmn:receiveTask>
  </bpmn:process>
</bpmn:definitions>"""


def spiff_parts(xml: str) -> Counter:
    root = etree.fromstring(xml.encode())
    parts = Counter()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{SPIFF}}}"):
            parts[(etree.QName(el).localname, tuple(sorted(el.attrib.items())), (el.text or "").strip())] += 1
        for name, value in el.attrib.items():
            if name.startswith(f"{{{SPIFF}}}"):
                parts[("@" + etree.QName(name).localname, value, "")] += 1
    return parts


def test_spiffworkflow_extensions_survive_the_designer_round_trip(tmp_path):
    assert shutil.which("node"), "node is needed (make assets installs it)"
    sample = tmp_path / "correlated.bpmn"
    sample.write_text(CORRELATED, encoding="utf-8")
    files = sorted(str(p) for p in (ROOT / "bpmn").glob("*.bpmn")) + [str(sample)]
    script = tmp_path / "round_trip.cjs"
    script.write_text(ROUND_TRIP)
    done = subprocess.run(["node", str(script), str(ROOT), *files], capture_output=True,
                          text=True, timeout=120, check=True)
    result = json.loads(done.stdout)
    for name in files:
        before = spiff_parts(Path(name).read_text(encoding="utf-8"))
        after = spiff_parts(result[name]["xml"])
        assert before, name
        assert after == before, (name, before - after, after - before)
        # only multi-instance collections named by variable are reported; the designer puts
        # them back on import (LoopRefRepair in app/designer-properties.js)
        assert all(w.startswith("unresolved reference") for w in result[name]["warnings"]), name


def js_object(name: str) -> dict:
    source = (APP / "designer-properties.js").read_text(encoding="utf-8")
    literal = re.search(rf"var {name} = (\{{.*?\}});", source, re.S).group(1)
    return json.loads(literal)


def test_the_panels_lane_roles_are_the_policys():
    assert js_object("LANE_ROLES") == {role: list(names) for role, names in policy.LANE_ROLES.items()}
    # what the panel writes into a lane's name maps back to the role chosen
    for role, names in js_object("LANE_ROLES").items():
        assert policy.role_of_lane(names[0]) == role
    assert js_object("ROLE_NAMES") == {r: policy.ROLE_NAMES[r] for r in policy.LANE_ROLES}
