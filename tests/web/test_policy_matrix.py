"""Every /api/v1 endpoint × every role × an object in and out of the role's scope.

The endpoints come from the app's url_map; each must declare its action (a new endpoint without
one fails here). The expected answer comes from the policy's tables (processes.policy: which
roles an action is for, whether it is scoped, each role's reach), never from a hand-written
list of cases: a role outside the rule gets 403; inside, an object in its scope gets an answer
(2xx, or 409/422 when the object's state or the sample body says no) and one outside 403; a
list shows the object in scope and leaves out the other.

The world: project A (禅城区, the users' district and enterprises) and project B (南海区, none
of theirs); one user per role, scoped to A; an instance of a diagram with one task per role's
lane in each project, a document, an attachment, alarms, scores. Endpoints that change things
get fresh objects for each case.
"""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select

from engine.clock import clock, utcnow
from engine.schema import tasks
from processes import documents as docs
from processes import policy
from processes.demo import DEMO_PASSWORD, load_reference
from processes.operations import next_number
from processes.people import create_user
from processes.schema import migrations, score_events
from tests.apiclient import TINY_PNG
from web.auth import declared_action

A, B = "FS-CC-2026-001", "FS-NH-2026-002"
DISTRICT = {A: "禅城区", B: "南海区"}
DEVICE = {A: "DUST-CC001", B: "DUST-NH002"}
CONTRACTOR = {A: "91440600CON001", B: "91440600CON004"}
EXPERT = {A: "expert_m", B: "expert_other"}          # whose task the expert lane's is
USERS = {"admin": "admin", "designer": "designer_m", "inspector": "inspector_cc",
         "contractor": "contractor_gdjg", "supervisor": "supervisor_hn",
         "builder": "builder_fscj", "expert": "expert_m", "leader": "leader_cc",
         "auditor": "auditor_m", "gateway": "gateway"}
LANE_ROLES = [r for r in policy.ROLES if r in policy.LANE_ROLES]
START_LANE = policy.LANE_ROLES["inspector"][0]
# actions that change what they touch: each case gets its own object
FRESH = {"task.claim", "task.unclaim", "task.draft", "task.complete", "task.attach",
         "instance.cancel", "instance.retry", "document.correct"}
LAST = FRESH | {"instance.start", "definition.deploy", "threshold.add", "message.send",
                "alarm.ingest", "telemetry.ingest"}


def diagram() -> bytes:
    lanes = "".join(
        f'<bpmn:lane id="l_{r}" name="{policy.LANE_ROLES[r][0]}">'
        + ('<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>fork</bpmn:flowNodeRef>'
           if r == "inspector" else "")
        + f'<bpmn:flowNodeRef>t_{r}</bpmn:flowNodeRef></bpmn:lane>' for r in LANE_ROLES)
    branches = "".join(
        f'<bpmn:sequenceFlow id="in_{r}" sourceRef="fork" targetRef="t_{r}"/>'
        f'<bpmn:userTask id="t_{r}" name="{r}">'
        + ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
           'name="assignee" value="expert_user"/></spiffworkflow:properties>'
           '</bpmn:extensionElements>' if r == "expert" else "")
        + f'</bpmn:userTask><bpmn:sequenceFlow id="out_{r}" sourceRef="t_{r}" targetRef="end_{r}"/>'
        f'<bpmn:endEvent id="end_{r}"/>' for r in LANE_ROLES)
    return ('<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
            'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="m" '
            'targetNamespace="t"><bpmn:process id="matrix" name="权限矩阵" isExecutable="true">'
            f'<bpmn:laneSet id="ls">{lanes}</bpmn:laneSet><bpmn:startEvent id="start"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>'
            f'<bpmn:parallelGateway id="fork"/>{branches}</bpmn:process></bpmn:definitions>'
            ).encode()


class World:
    def __init__(self, app):
        from tests.apiclient import ApiClient

        self.app, self.api = app, ApiClient(app)
        self.engine = app.extensions["jianguan.engine"]
        with self.engine.unit("system:test") as unit:
            load_reference(unit.conn)
            for name, role in (("designer_m", "designer"), ("auditor_m", "auditor")):
                create_user(unit.conn, name, role, DEMO_PASSWORD, district="禅城区")
            for name in ("expert_m", "expert_other"):
                create_user(unit.conn, name, "expert", DEMO_PASSWORD)
            # a finished migration batch (GET /api/v1/migrations/<id>)
            self.migration = unit.conn.execute(insert(migrations).values(
                process_key="matrix", from_version=1, to_version=2, mapping={}, state="done",
                total=0, created_by="system:test", created_at=unit.now)
                .returning(migrations.c.id)).scalar_one()
            for project in (A, B):
                unit.conn.execute(insert(score_events).values(
                    enterprise_code=CONTRACTOR[project], project_code=project, item="矩阵",
                    points=1, at=unit.now))
        r = self.api.deploy(files={"matrix.bpmn": diagram()})
        assert r.status_code == 201, r.get_json()
        self.instance = {p: self.start(p) for p in (A, B)}
        self.document = {p: self.issue(p) for p in (A, B)}
        self.attachment = {p: self.attach(p) for p in (A, B)}
        for p in (A, B):
            r = self.api.post("/api/v1/alarms", as_user="gateway", json=self.alarm_body(p))
            assert r.status_code == 201, r.get_json()

    # -- objects ----------------------------------------------------------------------------
    def start(self, project: str) -> SimpleNamespace:
        r = self.api.start("matrix", project, {"project_code": project,
                                               "expert_user": EXPERT[project]})
        assert r.status_code == 201, r.get_json()
        iid = r.get_json()["id"]
        with self.engine.db.read() as conn:
            rows = conn.execute(select(tasks.c.id, tasks.c.element_id)
                                .where(tasks.c.instance_id == iid)).all()
        return SimpleNamespace(id=iid, task={row.element_id[2:]: row.id for row in rows})

    def issue(self, project: str, instance_id: str | None = None) -> SimpleNamespace:
        with self.engine.unit("system:test") as unit:
            doc = SimpleNamespace(
                id=str(uuid.uuid4()), instance_id=instance_id or self.instance[project].id,
                kind="rectification_notice", title="整改通知书", replaces=None,
                number=next_number(unit.conn, "rectification_notice", unit.now.year),
                created_at=unit.now, data={"variables": {"rect_issue": "矩阵"}})
            issued = docs.issue_in(unit.conn, unit.now, lambda kind, **d: None, doc)
        return SimpleNamespace(id=doc.id, code=issued["verify_code"])

    def attach(self, project: str) -> str:
        task_id = self.instance[project].task["inspector"]
        r = self.api.upload(task_id, "a.png", as_user="admin")
        assert r.status_code == 201, r.get_json()
        return r.get_json()["id"]

    def alarm_body(self, project: str) -> dict:
        return {"project_code": project, "device_type": "dust", "device_id": DEVICE[project],
                "alarm_id": f"M-{uuid.uuid4().hex[:8]}", "type": "pm10", "level": "alarm",
                "value": 231.0, "threshold": 200.0, "at": utcnow().isoformat()}


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    from app import create_app
    from tests.conftest import make_database_url, run_jobs_at_once

    tmp = tmp_path_factory.mktemp("matrix")
    app = create_app({"DATABASE_URL": make_database_url("sqlite", tmp, request),
                      "SECRET_KEY": "matrix", "VAR_DIR": str(tmp / "var"), "TESTING": True})
    engine = app.extensions["jianguan.engine"]
    engine.wake = run_jobs_at_once(engine)
    yield World(app)
    engine.close()
    clock.reset()


def api_routes(app) -> list[tuple[str, str, str | None]]:
    """(rule, method, declared action) of every endpoint under /api/v1."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.rule, method, declared_action(view, method)))
    return sorted(found, key=lambda r: (r[2] in LAST, r[0], r[1]))


def test_every_endpoint_declares_a_rule_of_the_policy(world):
    routes = api_routes(world.app)
    assert len(routes) >= 40
    missing = [(rule, method) for rule, method, action in routes if action is None]
    assert missing == [], "endpoints without @allow(action): add a rule to processes.policy"
    unknown = [a for _, _, a in routes if a not in policy.ACTIONS]
    assert unknown == []
    assert set(USERS) == set(policy.ROLES), "a new role needs a user in this matrix"


# -- what the policy says ----------------------------------------------------------------------

def reaches(role: str, scope: str) -> bool:
    """Whether the role's user (scoped to project A) reaches an object of project A ("in")
    or B ("out"), by the role's reach in the policy."""
    reach = policy.REACH[role]
    if reach == "all":
        return True
    if reach == "none":
        return False
    return scope == "in"       # bureau (district A), enterprise (A's), assigned (A's task)


def expected_allowed(action: str, role: str, scope: str) -> bool:
    rule = policy.ACTIONS[action]
    if rule.roles is None:
        return True
    if role not in rule.roles:
        return False
    if rule.listing:
        return True                  # a list answers, and leaves out what is out of reach
    if rule.need == "start":
        return role == "admin" or (role == policy.role_of_lane(START_LANE) and reaches(role, scope))
    if rule.resource in ("instance", "task", "document", "attachment", "district", "project"):
        return reaches(role, scope)
    return True


# -- requests ----------------------------------------------------------------------------------

def project_of(scope: str) -> str:
    return A if scope == "in" else B


def case_request(world: World, rule: str, method: str, action: str, role: str, scope: str):
    project = project_of(scope)
    instance = world.instance[project]
    document = world.document[project]
    if action in FRESH and expected_allowed(action, role, scope):
        instance = world.start(project)
        if action == "document.correct":
            document = world.issue(project, instance.id)
    lane = role if role in LANE_ROLES else "inspector"
    params = {"task_id": instance.task[lane], "instance_id": instance.id,
              "document_id": document.id, "attachment_id": world.attachment[project],
              "key": "matrix", "code": document.code, "project_code": project,
              "migration_id": str(world.migration)}
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: params[m.group(1)], rule)
    kw: dict = {}
    query = {"page_size": 100} if policy.ACTIONS[action].listing else {}
    if action == "auth.login":
        kw["json"] = {"username": USERS[role], "password": DEMO_PASSWORD}
    elif action in ("definition.deploy", "definition.validate"):
        kw.update(data={"files": [(io.BytesIO(diagram()), "matrix.bpmn")]},
                  content_type="multipart/form-data")
    elif action == "instance.start":
        kw["json"] = {"process_key": "matrix", "business_key": project, "variables": {
            "project_code": project, "expert_user": EXPERT[project]}}
    elif action == "instance.cancel":
        kw["json"] = {"reason": "权限矩阵"}
    elif action in ("task.draft", "task.complete"):
        kw["json"] = {"data": {}}
    elif action == "task.attach":
        kw.update(data={"file": (io.BytesIO(TINY_PNG), "m.png")},
                  content_type="multipart/form-data")
    elif action == "document.correct":
        kw["json"] = {"reason": "权限矩阵", "changes": {}}
    elif action == "message.send":
        kw["json"] = {"name": "matrix_ping", "correlation": {}, "payload": {},
                      "message_id": uuid.uuid4().hex}
    elif action == "alarm.ingest":
        kw["json"] = world.alarm_body(project)
    elif action == "telemetry.ingest":
        kw["json"] = {"project_code": project, "device_type": "dust",
                      "device_id": DEVICE[project], "kind": "heartbeat",
                      "at": datetime.now(timezone.utc).isoformat()}
    elif action == "threshold.add":
        kw["json"] = {"device_type": "dust", "metric": "pm10", "level": "alarm", "limit": 300.0,
                      "project_code": project}
    elif policy.ACTIONS[action].resource == "district":
        query["district"] = DISTRICT[project]
    elif action in ("audit.search", "audit.export"):
        query["instance_id"] = instance.id
    who = None if policy.ACTIONS[action].roles is None else USERS[role]
    return world.api.call(method, path, who, query_string=query, **kw)


# what identifies the scoped object in a list answer
LISTED = {
    "instance.list": (lambda w, p: w.instance[p].id, lambda r: {i["id"] for i in r.get_json()}),
    "task.list": (None, lambda r: {i["id"] for i in r.get_json()}),
    "project.list": (lambda w, p: p, lambda r: {i["code"] for i in r.get_json()}),
    "score.list": (lambda w, p: CONTRACTOR[p],
                   lambda r: {i["enterprise_code"] for i in r.get_json()}),
    "alarm.list": (lambda w, p: DEVICE[p], lambda r: {i["device_id"] for i in r.get_json()}),
    "device.list": (lambda w, p: DEVICE[p], lambda r: {i["id"] for i in r.get_json()}),
    "audit.search": (lambda w, p: w.instance[p].id,
                     lambda r: {i["instance_id"] for i in r.get_json()}),
    "audit.export": (lambda w, p: w.instance[p].id,
                     lambda r: {row[6] for row in csv.reader(io.StringIO(
                         r.get_data(as_text=True).lstrip("\ufeff")))}),
}


@pytest.mark.parametrize("role", policy.ROLES)
def test_each_endpoint_answers_each_role_as_the_policy_says(world, role):
    wrong = []
    for rule, method, action in api_routes(world.app):
        for scope in ("in", "out"):
            r = case_request(world, rule, method, action, role, scope)
            allowed = expected_allowed(action, role, scope)
            policy_rule = policy.ACTIONS[action]
            if not allowed:
                ok = r.status_code == 403
            elif policy_rule.listing and policy_rule.resource is not None and \
                    action in LISTED and r.status_code == 200:
                ident, seen = LISTED[action]
                project = project_of(scope)
                wanted = world.instance[project].task[role if role in LANE_ROLES else
                                                      "inspector"] \
                    if ident is None else ident(world, project)
                ok = (wanted in seen(r)) == reaches(role, scope)
            else:
                ok = r.status_code < 500 and r.status_code not in (401, 403, 404)
            if not ok:
                body = r.get_data(as_text=True)[:200]
                wrong.append(f"{method} {rule} [{action}] {role}/{scope}: "
                             f"{r.status_code} {body}")
    assert wrong == []
