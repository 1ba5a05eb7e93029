"""A real paho publisher and a listener in a thread, on a topic prefix of the test's own so
that other tests sharing the machine's Mosquitto never reach it."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone

import paho.mqtt.client as mqtt
from sqlalchemy import func, select

from processes.schema import alarms, dead_letters
from tests.waiting import wait_until

MQTT_URL = "mqtt://127.0.0.1:1883"


def new_prefix() -> str:
    return f"jgtest-{uuid.uuid4().hex[:10]}"


class Publisher:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"pub-{uuid.uuid4().hex[:8]}")
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(200)
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        self.pending = []

    def send(self, project: str, device_type: str, device_id: str, kind: str, payload,
             wait: bool = False):
        raw = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        info = self.client.publish(f"{self.prefix}/{project}/{device_type}/{device_id}/{kind}",
                                   raw, qos=1)
        self.pending.append(info)
        if wait:
            info.wait_for_publish(30)
            assert info.is_published(), "the broker did not acknowledge a QoS 1 message"
        return info

    def flush(self, timeout: float = 30) -> None:
        for info in self.pending:
            info.wait_for_publish(timeout)
            assert info.is_published()
        self.pending = []

    def close(self) -> None:
        self.flush()
        self.client.disconnect()
        self.client.loop_stop()


def alarm(alarm_id: str, level: str = "alarm", **over) -> dict:
    body = {"alarm_id": alarm_id, "type": "pm10", "level": level, "value": 230.0,
            "threshold": 200.0, "at": datetime.now(timezone.utc).isoformat()}
    body.update(over)
    return body


class ThreadedListener:
    """The real Listener, run on a thread the way `flask mqtt-listen` runs it."""

    def __init__(self, engine, prefix: str, client_id: str | None = None, **kw):
        from integrations.mqtt_listener import Listener

        self.listener = Listener(engine, MQTT_URL, client_id=client_id or f"l-{prefix}",
                                 prefix=prefix, **kw)
        self.thread = threading.Thread(target=self.listener.run,
                                       kwargs={"install_signals": False}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def subscribed(self) -> bool:
        """The broker acknowledged the subscription (SUBACK): only from now on does it keep
        and deliver messages for this listener."""
        return self.listener.stats.subscribed

    def wait_subscribed(self, timeout: float = 30) -> None:
        wait_until(self.subscribed, timeout, "the listener's subscription acknowledged")

    def __exit__(self, *exc):
        self.listener.stop()
        self.thread.join(20)
        assert not self.thread.is_alive()


def count(engine, table, *where) -> int:
    with engine.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def alarm_count(engine) -> int:
    return count(engine, alarms)


def dead_count(engine) -> int:
    return count(engine, dead_letters)
