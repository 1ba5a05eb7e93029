"""Small BPMN diagrams for tests, written from parts: a process in its definitions, a line of
nodes from a start event to an end event, a service task calling an operation, the drawing."""
from __future__ import annotations

import re

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" '
        'targetNamespace="t">\n')


def process_xml(key: str, body: str, name: str | None = None) -> str:
    """The executable process `key` (named `name`, if given) holding `body`, as a file."""
    named = f' name="{name}"' if name else ""
    return (f'{HEAD}<bpmn:process id="{key}"{named} isExecutable="true">\n{body}\n'
            "</bpmn:process>\n</bpmn:definitions>")


def linked(*nodes: str) -> str:
    """The nodes (each its element's XML; its first id is the one the flows name), each joined
    to the next by the flows f1, f2, ..."""
    ids = [re.search(r'\bid="([^"]+)"', node).group(1) for node in nodes]
    flows = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
             for i, (a, b) in enumerate(zip(ids, ids[1:]), start=1)]
    return "\n".join([*nodes, *flows])


def line(*nodes: str, start: str = "start", end: str = "end") -> str:
    """start → nodes... → end (the events' ids), joined by the flows f1, f2, ..."""
    return linked(f'<bpmn:startEvent id="{start}"/>', *nodes, f'<bpmn:endEvent id="{end}"/>')


def service_task(task_id: str, operator: str, result: str, params=(), name: str | None = None,
                 run_async: bool = False) -> str:
    """A service task calling the operation `operator`, its answer in the variable `result`;
    params are (id, type, value) with value an expression; run_async: a job, not in the step."""
    named = f' name="{name}"' if name else ""
    props = ('<spiffworkflow:properties><spiffworkflow:property name="async" value="true"/>'
             "</spiffworkflow:properties>") if run_async else ""
    parameters = "".join(f'<spiffworkflow:parameter id="{pid}" type="{ptype}" value="{value}"/>'
                         for pid, ptype, value in params)
    if parameters:
        parameters = f"<spiffworkflow:parameters>{parameters}</spiffworkflow:parameters>"
    return (f'<bpmn:serviceTask id="{task_id}"{named}><bpmn:extensionElements>{props}'
            f'<spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="{result}">'
            f"{parameters}</spiffworkflow:serviceTaskOperator>"
            "</bpmn:extensionElements></bpmn:serviceTask>")


def drawing(plane: str, shapes: dict, edges: dict) -> str:
    """The BPMN DI of the element `plane` (a process or collaboration), for bpmn-js: shapes are
    {element: (x, y, width, height[, more attributes])}; edges are {flow: [(x, y), ...]} or
    {flow: (source, target)}, a straight line from the source's right side to the target's left
    at the source's middle height."""
    parts = []
    for element, (x, y, w, h, *more) in shapes.items():
        attributes = "".join(f" {a}" for a in more)
        parts.append(f'<bpmndi:BPMNShape id="{element}_di" bpmnElement="{element}"{attributes}>'
                     f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/></bpmndi:BPMNShape>')
    for flow, points in edges.items():
        if isinstance(points, tuple):
            (sx, sy, sw, sh, *_), (tx, *_) = shapes[points[0]], shapes[points[1]]
            points = [(sx + sw, sy + sh // 2), (tx, sy + sh // 2)]
        waypoints = "".join(f'<di:waypoint x="{x}" y="{y}"/>' for x, y in points)
        parts.append(f'<bpmndi:BPMNEdge id="{flow}_di" bpmnElement="{flow}">{waypoints}'
                     "</bpmndi:BPMNEdge>")
    return (f'<bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="{plane}">\n'
            + "\n".join(parts) + "\n</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>")
