"""The production topology end to end: separate web, worker, beat and listener processes on
PostgreSQL, Redis and Mosquitto (see conftest.py and docs/deployment.md).

Time: the processes read the wall clock (engine.clock cannot be moved across processes). The
rectification's deadline is a date and its overdue timer is `deadline + "T23:59:59+08:00"`
(bpmn/rectification.bpmn): it cannot be made due a few seconds ahead, and a deadline that has
already passed is refused (by the form and by the process). So the rectification test ends with
the new notice a worker issues after a failed re-check, and a separate test proves that beat
and a worker fire a timer that comes due later: a timer due a few seconds ahead, on a small
diagram deployed through the API.

Crashes: a worker is killed inside a document gate's transaction (held there by the test
holding the audit head) and the listener and a worker in the middle of an alarm burst."""
from __future__ import annotations

import hashlib
import json
import signal
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from tests.system.mqtt import Gateway, alarm_payload
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(900)

FOSHAN = timezone(timedelta(hours=8))
# 禅城区 (inspector_cc), contractor 中建三局 (contractor_zj3), supervisor 宏达 (supervisor_hd); no
# rectification of its own in the demo, which would catch the alarm instead of a new one
PROJECT = "FS-CC-2026-003"
DEVICE = {"id": "DUST-CC003", "project_code": PROJECT, "device_type": "dust"}
CONTRACTOR, SUPERVISOR = "contractor_zj3", "supervisor_hd"
TINY_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                         "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f6"
                         "6e1e0000000049454e44ae426082")
DUE_ONCE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="t">
  <bpmn:process id="due_once" name="到期一次" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait_due"/>
    <bpmn:intermediateCatchEvent id="wait_due"><bpmn:timerEventDefinition>
      <bpmn:timeDate>due</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait_due" targetRef="count"/>
    <bpmn:scriptTask id="count"><bpmn:script>fired = fired + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""
BURST = 2000                  # distinct alarms; every tenth is sent a second time as well
WINDOW = 500                  # alarms sent ahead of those recorded: while the listener is down
#                               the broker queues them, and Mosquitto's default queue holds 1,000
UNPACED = 200                 # the last messages before the kill go out at once


@pytest.fixture(scope="module")
def gateway(topology):
    gw = Gateway(topology.env["MQTT_URL"], topology.env["MQTT_TOPIC_PREFIX"])
    yield gw
    gw.close()


def foshan_date(days: int) -> str:
    return (datetime.now(FOSHAN) + timedelta(days=days)).date().isoformat()


def rectification_ids(topology) -> set[str]:
    return {r.id for r in topology.query(
        "SELECT id FROM instances WHERE process_key = 'rectification'")}


def task_when_open(client, iid: str, element: str, user: str, timeout: float, topology):
    return wait_until(lambda: client.open_task(iid, element, user), timeout,
                      f"task {element} of {iid} open for {user}", on_timeout=topology.log_dump)


def test_every_process_kind_reports_healthy(topology, client):
    r = client.get("/healthz", user=None)
    assert r.status == 200, r.body
    assert r.json() == {"status": "ok", "database": "ok", "redis": "ok", "broker": "ok"}
    for kind in ("web", "worker", "beat", "listener"):
        done = topology.flask("health", "--kind", kind, check=False)
        assert done.returncode == 0, (kind, done.stdout, done.stderr)


def test_alarm_to_rectification_worked_by_people_workers_and_beat(topology, client, gateway):
    before = rectification_ids(topology)
    gateway.publish(DEVICE, alarm_payload(f"A-{topology.owner}"))
    started = wait_until(lambda: rectification_ids(topology) - before, 60,
                         "a rectification started by the alarm", on_timeout=lambda: "\n".join(
                             [str(topology.query("SELECT * FROM alarms")), topology.log_dump()]))
    assert len(started) == 1, started
    iid = started.pop()
    inst = client.instance(iid, "inspector_cc")
    assert inst["variables"]["alarm"]["device_id"] == DEVICE["id"]
    assert inst["variables"]["points_total"] < 6       # so one rejection does not summon a talk

    # the inspector issues the notice; a worker renders it before the contractor sees the task
    notice = task_when_open(client, iid, "rect_notice", "inspector_cc", 30, topology)
    client.complete(notice["id"], {"rect_location": "东侧裸土堆场",
                                   "rect_issue": "扬尘在线监测 PM10 超标, 裸土未覆盖",
                                   "rect_requirement": "立即覆盖裸土并开启喷淋",
                                   "deadline": foshan_date(7), "stop_work": False},
                    "inspector_cc")
    reply = task_when_open(client, iid, "rect_reply", CONTRACTOR, 90, topology)
    documents = client.ok(client.get(f"/api/v1/instances/{iid}/documents", "inspector_cc"))
    assert [d["kind"] for d in documents] == ["rectification_notice"]
    pdf = client.get(f"/api/v1/documents/{documents[0]['id']}", CONTRACTOR)
    assert pdf.status == 200 and pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.body.startswith(b"%PDF") and hashlib.sha256(pdf.body).hexdigest() == \
        documents[0]["sha256"]
    history = client.ok(client.get(f"/api/v1/instances/{iid}/history", "auditor"))
    # produced once, by the background (the async job's worker, or the timer pass that takes
    # up a job still pending when it runs), never on the inspector's request
    generated = [e["actor"] for e in history if e["kind"] == "document.generated"]
    assert len(generated) == 1 and generated[0] in ("system:worker", "system:timer"), generated

    # the contractor replies with evidence, the supervisor passes it, the inspector sends it
    # back with a new deadline
    evidence = [client.upload(reply["id"], f"photo-{n}.png", TINY_PNG, CONTRACTOR)
                for n in (1, 2)]
    client.complete(reply["id"], {"rect_measures": "裸土已覆盖防尘网, 喷淋开启",
                                  "rect_responsible": "张三", "rect_completed_on": foshan_date(0),
                                  "rect_evidence": evidence}, CONTRACTOR)
    check = task_when_open(client, iid, "rect_check", SUPERVISOR, 30, topology)
    client.complete(check["id"], {"supervisor_passed": True, "supervisor_opinion": "已整改",
                                  "supervisor_signer": "王总监"}, SUPERVISOR)
    review = task_when_open(client, iid, "rect_review", "inspector_cc", 30, topology)
    client.complete(review["id"], {"accepted": False, "review_comment": "东侧仍有裸土",
                                   "deadline": foshan_date(3)}, "inspector_cc")

    # a worker issues a new numbered notice with the new deadline before the contractor's
    # reply task opens again
    task_when_open(client, iid, "rect_reply", CONTRACTOR, 90, topology)
    after = client.instance(iid)
    assert after["variables"]["rejections"] == 1 and after["variables"]["overdue_count"] == 0
    documents = client.ok(client.get(f"/api/v1/instances/{iid}/documents", "inspector_cc"))
    assert [d["kind"] for d in documents] == ["rectification_notice"] * 2

    done = topology.flask("verify-audit", check=False)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "审计链完整" in done.stdout


def test_beat_and_a_worker_fire_a_timer_that_comes_due(topology, client):
    client.deploy("due_once.bpmn", DUE_ONCE.encode())
    due = (datetime.now(timezone.utc) + timedelta(seconds=10)).replace(microsecond=0)
    r = client.post("/api/v1/instances", "admin", {
        "process_key": "due_once", "business_key": PROJECT,
        "variables": {"due": due.isoformat(), "fired": 0}})
    iid = client.ok(r, 201)["id"]
    done = wait_until(lambda: client.instance(iid)["state"] == "completed" and
                      client.instance(iid), 90, "the timer to fire", on_timeout=topology.log_dump)
    assert done["variables"]["fired"] == 1
    history = client.ok(client.get(f"/api/v1/instances/{iid}/history", "auditor"))
    started = [e for e in history if e["kind"] == "instance.started"]
    fired = [e for e in history if e["kind"] == "timer.fired"]
    # started (by the web process) before it was due; fired after, by beat's timer pass
    assert len(started) == 1 and datetime.fromisoformat(started[0]["at"]) < due
    assert len(fired) == 1 and fired[0]["actor"] == "system:timer"
    assert datetime.fromisoformat(fired[0]["at"]) >= due


def test_a_worker_killed_holding_a_rendered_document_leaves_it_produced_once(topology, client):
    """SIGKILL a worker inside the transaction of a document gate, after it has numbered,
    rendered and stored the PDF and before it commits: held there by the test, which holds
    the audit trail's head row (the last thing the transaction locks). Another worker then
    produces the document: one row, one number, one `document.generated`, nothing of the
    killed attempt."""
    project = "FS-CC-2026-002"           # 禅城区; no alarm of this module's tests starts here
    r = client.post("/api/v1/instances", "inspector_cc", {
        "process_key": "rectification", "business_key": project,
        "variables": {"project_code": project}})
    iid = client.ok(r, 201)["id"]
    notice = task_when_open(client, iid, "rect_notice", "inspector_cc", 30, topology)
    numbers = {row.number for row in topology.query(
        "SELECT number FROM documents WHERE kind = 'rectification_notice'")}
    workers = ("worker1", "worker2")
    holder = create_engine(topology.database_url).connect()
    try:
        # workers stopped until the head is held, so none can commit the gate before
        for name in workers:
            topology.signal(name, signal.SIGSTOP)
        try:
            client.complete(notice["id"], {"rect_issue": "基坑临边防护缺失",
                                           "rect_location": "3号楼基坑东侧",
                                           "rect_requirement": "立即设置防护栏杆",
                                           "deadline": foshan_date(7), "stop_work": False},
                            "inspector_cc")
            holder.begin()
            holder.execute(text("SELECT seq FROM audit_head FOR UPDATE"))
            holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        finally:
            for name in workers:
                topology.signal(name, signal.SIGCONT)

        def rendered_and_waiting() -> list:
            """Sessions waiting on the held head that have written a PDF (document_files)."""
            return topology.query(
                "SELECT a.pid, a.application_name FROM pg_stat_activity a "
                "WHERE :holder = ANY(pg_blocking_pids(a.pid)) AND EXISTS ("
                "  SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.mode = 'RowExclusiveLock'"
                "  AND l.relation = 'document_files'::regclass)", holder=holder_pid)
        (victim,) = wait_until(rendered_and_waiting, 120,
                               "a worker with the rendered notice, waiting to commit it",
                               on_timeout=topology.log_dump)
        assert victim.application_name in workers, victim
        topology.kill(victim.application_name)          # SIGKILL, pool children and all
        assert not topology.alive(victim.application_name)
    finally:
        holder.rollback()
        holder.close()
        holder.engine.dispose()
    topology.start(victim.application_name, "worker")

    task_when_open(client, iid, "rect_reply", "admin", 120, topology)     # the gate went on
    (doc,) = client.ok(client.get(f"/api/v1/instances/{iid}/documents", "inspector_cc"))
    assert doc["kind"] == "rectification_notice" and doc["status"] == "generated"
    assert doc["number"] not in numbers and int(doc["number"][-5:]) == len(numbers) + 1
    stored = topology.query("SELECT d.number, d.sha256 FROM documents d JOIN document_files f "
                            "ON f.document_id = d.id WHERE d.instance_id = :iid", iid=iid)
    assert [tuple(row) for row in stored] == [(doc["number"], doc["sha256"])]
    pdf = client.get(f"/api/v1/documents/{doc['id']}", "inspector_cc")
    assert pdf.status == 200 and hashlib.sha256(pdf.body).hexdigest() == doc["sha256"]
    history = client.ok(client.get(f"/api/v1/instances/{iid}/history", "auditor"))
    assert [e["kind"] for e in history if e["kind"] in ("document.generated", "job.completed")
            ] == ["document.generated", "job.completed"]
    topology.wait_healthy("worker", timeout=60)
    done = topology.flask("verify-audit", check=False)
    assert done.returncode == 0, (done.stdout, done.stderr)


def test_alarm_burst_survives_sigkill_of_a_worker_and_the_listener(topology, client, gateway):
    devices = [d for d in client.ok(client.get("/api/v1/devices", page_size=100))
               if d["device_type"] in ("dust", "pit", "video") and not d.get("crane_id")]
    assert len(devices) >= 10, devices
    run = uuid.uuid4().hex[:8]
    kinds = ("pm25", "noise")      # two per device: some alarms merge, others correlate
    alarms = [(devices[i % len(devices)], f"B{run}-{i:05d}", kinds[(i // len(devices)) % 2])
              for i in range(BURST)]
    sends = []
    for i, alarm in enumerate(alarms):
        sends.append(alarm)
        if i % 10 == 9:
            sends.append(alarms[i - 5])                   # a QoS 1 redelivery, seen twice
    before = rectification_ids(topology)
    kill_at = len(sends) * 2 // 5
    rush = range(kill_at - UNPACED, kill_at)       # sent at once: still on their way at the kill
    infos, killed_at, distinct = [], None, set()

    def recorded() -> int:
        return topology.query("SELECT count(*) AS n FROM alarms WHERE alarm_id LIKE :p",
                              p=f"B{run}-%")[0].n
    for n, (device, alarm_id, kind) in enumerate(sends):
        if n == kill_at:
            killed_at = topology.query("SELECT now() AS at")[0].at
            topology.kill("listener")
            topology.kill("worker1")
            topology.start("listener")
            topology.start("worker1", "worker")
        infos.append(gateway.send(device, alarm_payload(alarm_id, kind)))
        distinct.add(alarm_id)
        if n % 20 == 19 and n not in rush:      # flow control: at most WINDOW ahead
            wait_until(lambda: len(distinct) - recorded() <= WINDOW, 120,
                       "the listener to catch up", step=0.05, on_timeout=topology.log_dump)
    gateway.flush(infos)
    wait_until(lambda: recorded() == BURST, 180, f"all {BURST} alarms recorded",
               on_timeout=lambda: f"recorded {recorded()}\n{topology.log_dump()}")

    # once each, and each did one thing: started a rectification, reached the running
    # rectifications of its project (noted there once), or joined the one of its device
    rows = topology.query("SELECT device_id, alarm_id, effect, instances FROM alarms "
                          "WHERE alarm_id LIKE :p", p=f"B{run}-%")
    assert len({(r.device_id, r.alarm_id) for r in rows}) == BURST == len(rows)
    in_flight = {alarm_id for _, alarm_id, _ in sends[:kill_at]} & {
        r.alarm_id for r in topology.query("SELECT alarm_id FROM alarms WHERE alarm_id LIKE :p "
                                           "AND received_at > :t", p=f"B{run}-%", t=killed_at)}
    assert in_flight            # the kill did catch alarms between the device and the database
    assert {r.effect for r in rows} <= {"started", "correlated", "merged"}, \
        Counter(r.effect for r in rows)
    started = [r.instances[0] for r in rows if r.effect == "started"]
    assert started and len(started) == len(set(started))
    assert rectification_ids(topology) - before == set(started)
    delivered = Counter(iid for r in rows if r.effect == "correlated" for iid in r.instances)
    assert delivered
    for iid, count in delivered.items():      # the audit trail: each delivered once
        history = client.ok(client.get(f"/api/v1/instances/{iid}/history", "auditor"))
        noted = [e["details"]["message_id"] for e in history if e["kind"] == "message.correlated"
                 and f":B{run}-" in e["details"].get("message_id", "")]
        assert len(noted) == len(set(noted)) == count, (iid, count, len(noted))
    page = client.get("/api/v1/alarms", "admin", page_size=1)
    assert page.status == 200, page.body
    assert json.loads(page.headers["x-pagination"])["total"] >= BURST     # seen by the API

    # the restarted processes are healthy and the audit chain still verifies
    topology.wait_healthy("listener", "worker", timeout=60)
    assert topology.alive("worker2") and topology.alive("web") and topology.alive("beat")
    done = topology.flask("verify-audit", check=False)
    assert done.returncode == 0, (done.stdout, done.stderr)
