"""Versions of tests/engine/processes/two_lanes.bpmn for the migration tests."""
from __future__ import annotations

import os

from tests.apiclient import PROCESSES

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
