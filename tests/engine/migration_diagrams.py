"""Versions of tests/engine/processes/two_lanes.bpmn for the migration tests."""
from __future__ import annotations

import os

from tests.apiclient import PROCESSES
from tests.bpmn import drawing

with open(os.path.join(PROCESSES, "two_lanes.bpmn"), encoding="utf-8") as fh:
    V1 = fh.read()


def renamed_reply() -> bytes:
    """v2: the contractor's step `reply` is now `reply2` (整改回复并上传照片), with the same
    cancel boundary event."""
    text = (V1.replace('"reply"', '"reply2"').replace(">reply<", ">reply2<")
            .replace('name="整改回复"', 'name="整改回复并上传照片"'))
    return text.encode()


def no_cancel() -> bytes:
    """v2: the cancel boundary event on `reply` is gone."""
    text = V1
    start = text.index("<bpmn:boundaryEvent")
    end = text.index("</bpmn:boundaryEvent>") + len("</bpmn:boundaryEvent>")
    text = text[:start] + text[end:]
    for part in ('<bpmn:sequenceFlow id="f6" sourceRef="cancel_ev" targetRef="cancelled"/>',
                 '<bpmn:endEvent id="cancelled" name="已撤销"/>',
                 "<bpmn:flowNodeRef>cancelled</bpmn:flowNodeRef>",
                 "<bpmn:flowNodeRef>cancel_ev</bpmn:flowNodeRef>"):
        text = text.replace(part, "")
    return text.encode()


def with_diagram(xml: bytes | str, reply: str = "reply") -> bytes:
    """The same process with a drawing (BPMN DI), so the pages' bpmn-js viewers show it."""
    text = xml.decode() if isinstance(xml, bytes) else xml
    shapes = {"start": (100, 122, 36, 36), "draft": (180, 100, 100, 80),
              reply: (340, 100, 100, 80), "cancel_ev": (372, 162, 36, 36),
              "gw": (500, 115, 50, 50), "end": (610, 122, 36, 36),
              "cancelled": (372, 240, 36, 36)}
    edges = {"f1": [(136, 140), (180, 140)], "f2": [(280, 140), (340, 140)],
             "f3": [(440, 140), (500, 140)], "f4": [(525, 115), (525, 60), (230, 60), (230, 100)],
             "f5": [(550, 140), (610, 140)], "f6": [(390, 198), (390, 240)]}
    diagram = drawing("two_lanes", {e: box for e, box in shapes.items() if f'id="{e}"' in text},
                      {f: points for f, points in edges.items() if f'id="{f}"' in text})
    text = text.replace(
        "<bpmn:definitions ",
        '<bpmn:definitions xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" ', 1)
    return text.replace("</bpmn:definitions>", diagram + "</bpmn:definitions>").encode()
