"""Notifications: the in-app list (new task, due within 24 h, alarm on my project) and the
outbound channels through the outbox, against a real local HTTP gateway that fails first."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from engine.clock import utcnow
from engine.schema import tasks
from integrations.notify_channels import LoggingChannel, WebhookChannel
from processes import notifications
from processes.schema import notification_outbox
from tests.engine.test_tasks_api import started


@pytest.fixture
def gateway():
    """A local HTTP gateway answering 500 to its first request, 200 after."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            self.send_response(500 if len(received) == 1 else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/notify", received
    server.shutdown()
    server.server_close()
    notifications.register_channels([LoggingChannel()])


def titles(api, user: str) -> list[str]:
    r = api.get("/api/v1/notifications", as_user=user)
    assert r.status_code == 200, r.get_json()
    return [n["title"] for n in r.get_json()["items"]]


def test_new_task_due_soon_and_alarm_reach_the_right_people(api, engine):
    iid = started(api)
    with engine.db.write() as conn:
        conn.execute(update(tasks).where(tasks.c.instance_id == iid)
                     .values(due_at=utcnow() + timedelta(hours=5)))
    r = api.post("/api/v1/alarms", as_user="gateway", json={
        "project_code": "FS-CC-2026-001", "device_type": "dust", "device_id": "DUST-CC001",
        "alarm_id": f"N-{uuid.uuid4().hex[:8]}", "type": "pm10", "level": "alarm",
        "value": 231.0, "threshold": 200.0, "at": utcnow().isoformat()})
    assert r.status_code == 201, r.get_json()
    notifications.run_pass(engine)
    mine = titles(api, "inspector_cc")
    assert "新任务: 起草通知" in mine
    assert any(t.startswith("任务即将到期: 起草通知") for t in mine)
    assert any(t.startswith("设备告警") and "DUST-CC001" in t for t in mine)
    assert any(t.startswith("设备告警") for t in titles(api, "contractor_gdjg"))
    # another district's inspector and another project's contractor hear nothing of it
    assert titles(api, "inspector_nh") == []
    assert titles(api, "contractor_gz2") == []
    # a second pass repeats nothing; reading clears the unread count
    notifications.run_pass(engine)
    assert titles(api, "inspector_cc") == mine
    assert api.get("/api/v1/notifications", as_user="inspector_cc").get_json()["unread"] == 3
    r = api.post("/api/v1/notifications/read", as_user="inspector_cc", json={})
    assert r.status_code == 200 and r.get_json()["unread"] == 0


def test_webhook_failure_is_retried_with_back_off_and_never_blocks_the_process(
        api, engine, gateway):
    url, received = gateway
    notifications.register_channels([WebhookChannel(url, timeout=5.0)])
    iid = started(api)
    notifications.run_pass(engine, max_retries=3, first_backoff=2.0)
    # the gateway failed: the delivery waits, the task is there to work all the same
    with engine.db.read() as conn:
        rows = conn.execute(select(notification_outbox)).all()
    assert rows and all(r.state == "pending" and r.attempts == 1 for r in rows)
    assert "500" in rows[0].last_error
    assert len(received) == 1 and received[0]["title"] == "新任务: 起草通知"
    task = next(t for t in api.get("/api/v1/tasks", as_user="inspector_cc").get_json()
                if t["instance_id"] == iid)
    assert api.complete(task["id"], {}, as_user="inspector_cc").status_code == 200
    # not yet due again; after the back-off it goes through
    assert notifications.deliver(engine, utcnow())["sent"] == 0
    later = rows[0].due_at + timedelta(seconds=1)
    assert notifications.deliver(engine, later)["sent"] == 1
    with engine.db.read() as conn:
        sent = conn.execute(select(notification_outbox)).first()
    assert sent.state == "sent" and sent.attempts == 1
    # the gateway records a request before it answers, so both are there now
    assert len(received) == 2
    assert received[1]["text"].startswith("【监管平台】新任务") and received[1]["username"]


def test_a_dead_gateway_ends_failed_after_the_retries(api, engine):
    notifications.register_channels([WebhookChannel("http://127.0.0.1:9/none", timeout=1.0)])
    try:
        started(api)
        now = utcnow()
        notifications.run_pass(engine, max_retries=2, first_backoff=1.0)
        for _ in range(3):
            now += timedelta(minutes=10)
            notifications.deliver(engine, now, max_retries=2, first_backoff=1.0)
        with engine.db.read() as conn:
            rows = conn.execute(select(notification_outbox)).all()
        assert rows and all(r.state == "failed" and r.attempts == 3 for r in rows)
    finally:
        notifications.register_channels([LoggingChannel()])


def test_due_soon_is_told_when_the_task_enters_the_last_24_hours(api, engine):
    from engine.clock import clock

    notifications.run_pass(engine)               # the marks start here
    iid = started(api)
    start = utcnow()
    with engine.db.write() as conn:
        conn.execute(update(tasks).where(tasks.c.instance_id == iid)
                     .values(due_at=start + timedelta(hours=30)))
    notifications.run_pass(engine)
    assert not any(t.startswith("任务即将到期") for t in titles(api, "inspector_cc"))
    clock.freeze(start + timedelta(hours=7))
    notifications.run_pass(engine)
    assert sum(t.startswith("任务即将到期") for t in titles(api, "inspector_cc")) == 1
    clock.freeze(start + timedelta(hours=8))
    notifications.run_pass(engine)
    assert sum(t.startswith("任务即将到期") for t in titles(api, "inspector_cc")) == 1


def test_celery_beat_runs_the_same_pass(app, api, engine):
    from integrations.celery_app import make_celery

    settings = app.extensions["jianguan.settings"].replace(
        celery_broker_url="redis://127.0.0.1:6379/15")
    celery = make_celery(settings, engine)
    assert celery.conf.beat_schedule["notifications"]["task"] == "jianguan.notifications"
    started(api)
    result = celery.tasks["jianguan.notifications"].run()
    assert result["written"] >= 1 and result["sent"] >= 1     # the log channel
    assert "新任务: 起草通知" in titles(api, "inspector_cc")
