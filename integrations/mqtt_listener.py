"""`flask --app app mqtt-listen`: devices' MQTT messages into the database and the processes.

At-least-once end to end: the client takes QoS 1 with a persistent session (MQTT 5, no clean
start, a session that outlives a restart) and acknowledges a message only after the
transaction that applied it committed (paho's manual_ack). A listener killed in between gets
the unacknowledged messages again from the broker when it comes back; the unique
(device, alarm_id) and (device, reading time) keys make the second delivery have no effect.

Messages are applied in batches (what arrived within a few milliseconds, up to `batch_max`) in
one transaction with a savepoint per message: one commit per batch is what lets SQLite keep up
with a burst. A bad payload becomes a dead letter inside the batch; a database that is down
keeps the batch in memory, unacknowledged, and retries it with back-off.
"""
from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from processes.alarms import Envelope, ingest
from engine.i18n import _

log = logging.getLogger(__name__)

PREFIX = "jianguan"
SESSION_EXPIRY = 7 * 24 * 3600        # the broker keeps our queue for a week of downtime
RECEIVE_MAXIMUM = 1000                # unacknowledged messages the broker may send us
HEARTBEAT_KEY = "jianguan:listener:heartbeat"


@dataclass
class Stats:
    received: int = 0
    committed: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead: int = 0
    batches: int = 0
    failures: int = 0
    connected: bool = False
    subscribed: bool = False
    last_batch_at: float = 0.0
    reasons: dict = field(default_factory=dict)


def parse_url(url: str) -> tuple[str, int]:
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "tcp"):
        raise ValueError(_("MQTT_URL 须为 mqtt://主机:端口: {scheme}").format(scheme=parsed.scheme))
    return parsed.hostname or "127.0.0.1", parsed.port or 1883


class Listener:
    def __init__(self, engine, url: str, client_id: str = "jianguan-listener",
                 prefix: str = PREFIX, batch_max: int = 500, batch_wait: float = 0.0,
                 redis_url: str | None = None):
        """`prefix` replaces the topics' first level, so that environments (or tests) can share
        a broker: `staging/FS-CC-2026-001/dust/...` reaches a listener with prefix staging."""
        self.engine = engine
        self.host, self.port = parse_url(url)
        self.prefix = prefix.strip("/")
        self.topic = f"{self.prefix}/+/+/+/+"
        self.batch_max, self.batch_wait = batch_max, batch_wait
        self.stats = Stats()
        self._inbox: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._redis = _redis(redis_url)
        self._last_beat = 0.0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)

    # --- paho's network thread ------------------------------------------------------------

    def _on_connect(self, client, _userdata, flags, reason_code, _properties):
        if reason_code.is_failure:
            log.error("MQTT connect refused: %s", reason_code)
            return
        self.stats.connected = True
        log.info("MQTT connected to %s:%s (session present: %s)", self.host, self.port,
                 flags.session_present)
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _properties):
        # only now does the broker keep messages for us: health checks wait for this
        self.stats.subscribed = all(not rc.is_failure for rc in reason_codes)
        if not self.stats.subscribed:
            log.error("MQTT subscription to %s refused: %s", self.topic, reason_codes)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties):
        self.stats.connected = self.stats.subscribed = False
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting with back-off", reason_code)

    def _on_message(self, _client, _userdata, message):
        self._inbox.put((message.topic, message.payload, message.mid, message.qos))

    # --- the writer (caller's thread) -----------------------------------------------------

    def start(self) -> "Listener":
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False,
                                  properties=props)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def run(self, install_signals: bool = True) -> Stats:
        """Apply batches until stop() or SIGTERM/SIGINT, then apply what is left and leave."""
        if install_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        self.start()
        try:
            while not self._stop.is_set():
                self._beat()
                batch = self._collect(timeout=0.5)
                if batch:
                    self._apply(batch)
            self._drain()
        finally:
            self.client.disconnect()
            self.client.loop_stop()
        return self.stats

    def _collect(self, timeout: float) -> list:
        try:
            first = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_wait
        while len(batch) < self.batch_max:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._inbox.get(timeout=max(remaining, 0)) if remaining > 0
                             else self._inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _drain(self) -> None:
        while True:
            batch = self._collect(timeout=0.05)
            if not batch:
                return
            self._apply(batch, retry=False)

    def _apply(self, batch: list, retry: bool = True) -> None:
        self.stats.received += len(batch)
        cut = len(self.prefix)
        envelopes = [Envelope("mqtt", topic=PREFIX + t[cut:], raw=p) for t, p, _, _ in batch]
        delay = 0.5
        while True:
            try:
                outcomes = ingest(self.engine, envelopes, actor="system:mqtt")
                break
            except Exception:
                # the database, not the payload (payloads fail inside their savepoint):
                # keep the batch unacknowledged and try again
                self.stats.failures += 1
                log.exception("applying %d MQTT messages failed; retrying in %.1f s",
                              len(batch), delay)
                if not retry or self._stop.wait(delay):
                    return        # unacknowledged: the broker delivers them again
                delay = min(delay * 2, 30)
        for (_topic, _payload, mid, qos), outcome in zip(batch, outcomes):
            if qos:
                self.client.ack(mid, qos)
            self._count(outcome)
        self.stats.committed += len(batch)
        self.stats.batches += 1
        self.stats.last_batch_at = time.time()

    def _count(self, outcome) -> None:
        if outcome.status == "dead":
            self.stats.dead += 1
            key = (outcome.reason or "")[:40]
            self.stats.reasons[key] = self.stats.reasons.get(key, 0) + 1
        elif outcome.status == "duplicate":
            self.stats.duplicates += 1
        else:
            self.stats.accepted += 1

    def _beat(self) -> None:
        """A fresh key in Redis says this listener is alive (`flask health --kind listener`)."""
        now = time.monotonic()
        if self._redis is None or not self.stats.subscribed or now - self._last_beat < 5:
            return
        self._last_beat = now
        try:
            self._redis.set(HEARTBEAT_KEY, f"{time.time():.3f}", ex=60)
        except Exception:     # Redis down must not stop the devices' data
            log.warning("listener heartbeat to Redis failed", exc_info=True)


def _redis(url: str | None):
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    import redis
    return redis.Redis.from_url(url, socket_timeout=1)
