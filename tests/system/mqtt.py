"""A device gateway publishing over MQTT (QoS 1), for the system test and bench/load.py."""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt


def alarm_payload(alarm_id: str, alarm_type: str = "pm10", level: str = "alarm",
                  value: float = 231.0, threshold: float = 150.0) -> dict:
    return {"alarm_id": alarm_id, "type": alarm_type, "level": level, "value": value,
            "threshold": threshold, "at": datetime.now(timezone.utc).isoformat()}


class Gateway:
    """One MQTT connection; publish() is QoS 1 and returns once the broker has it."""

    def __init__(self, url: str, prefix: str, client_id: str | None = None):
        parts = urlsplit(url)
        self.prefix = prefix
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"gw-{uuid.uuid4().hex[:12]}")
        self.client.max_inflight_messages_set(200)
        self.client.on_connect = lambda *_: self.connected.set()
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(30):
            raise AssertionError(f"MQTT gateway could not connect to {url}")

    def topic(self, device: dict, kind: str = "alarm") -> str:
        return (f"{self.prefix}/{device['project_code']}/{device['device_type']}/"
                f"{device['id']}/{kind}")

    def send(self, device: dict, payload: dict, kind: str = "alarm") -> mqtt.MQTTMessageInfo:
        """Queue one message (QoS 1); the returned info says when the broker has it."""
        return self.client.publish(self.topic(device, kind), json.dumps(payload), qos=1)

    def publish(self, device: dict, payload: dict, kind: str = "alarm",
                timeout: float = 10) -> None:
        info = self.send(device, payload, kind)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise AssertionError(f"broker did not take {self.topic(device, kind)}")

    def flush(self, infos: list, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise AssertionError("broker did not take every message in time")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
