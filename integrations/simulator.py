"""The device simulator's I/O: registered devices, MQTT and HTTP transports, pacing, counts.

`run()` takes messages from `integrations.device_streams`, paces them with a token bucket and
hands them to a transport until a count, a duration or a stop event ends it, then lets the
transport finish what is in flight. `web/cli_devices.py` wraps it as `flask simulate-devices`.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Protocol, Sequence
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .device_streams import KINDS, Device, Message

PostFn = Callable[[str, bytes, dict], tuple[int, Any]]    # (path, body, headers) -> answer


class SimulatorError(Exception):
    """Something the operator has to fix (broker down, bad credentials); not a bad message."""


def load_devices(conn: Connection, projects: Sequence[str] | None = None) -> list[Device]:
    """The devices registered on the platform, optionally of some projects only."""
    from processes.schema import devices

    query = select(devices.c.id, devices.c.project_code, devices.c.device_type,
                   devices.c.crane_id).order_by(devices.c.id)
    if projects:
        query = query.where(devices.c.project_code.in_(list(projects)))
    return [Device(r.id, r.project_code, r.device_type, r.crane_id) for r in conn.execute(query)]


@dataclass
class Stats:
    """What was sent, per topic kind, and what came of it."""
    transport: str = ""
    attempted: int = 0
    sent: Counter = field(default_factory=Counter)       # accepted by the transport, by kind
    acked: Counter = field(default_factory=Counter)      # PUBACK from the broker / HTTP 2xx
    tags: Counter = field(default_factory=Counter)       # malformed, duplicate, burst, drift
    statuses: Counter = field(default_factory=Counter)   # HTTP status codes
    duplicates_answered: int = 0                          # HTTP answers with duplicate: true
    refused_valid: int = 0            # well-formed messages the platform refused: a contract gap
    errors: int = 0
    unacked: int = 0                                      # still in flight when we gave up
    last_error: str = ""
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    def error(self, message: str) -> None:
        self.errors += 1
        self.last_error = message

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        return self.attempted / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        kinds = " · ".join(f"{k} {self.sent[k]}" for k in KINDS)
        refused = sum(n for s, n in self.statuses.items() if s >= 400)
        extra = f" · refused {refused}" if self.transport == "http" else ""
        return (f"sent {sum(self.sent.values())} ({kinds} · malformed {self.tags['malformed']}"
                f" · dup {self.tags['duplicate']}) · acked {sum(self.acked.values())}{extra}"
                f" · errors {self.errors} · {self.rate:.1f} msg/s · {self.elapsed:.0f}s")

    def as_dict(self) -> dict:
        return {"transport": self.transport, "attempted": self.attempted,
                "sent": {k: self.sent[k] for k in KINDS},
                "acked": {k: self.acked[k] for k in KINDS},
                "tags": dict(self.tags), "statuses": {str(k): v for k, v in self.statuses.items()},
                "duplicates_answered": self.duplicates_answered,
                "refused_valid": self.refused_valid, "errors": self.errors,
                "unacked": self.unacked, "last_error": self.last_error,
                "seconds": round(self.elapsed, 3), "rate": round(self.rate, 2)}


class Transport(Protocol):
    name: str

    def open(self) -> None: ...
    def send(self, message: Message, stats: Stats) -> None: ...
    def poll(self, stats: Stats) -> None: ...
    def close(self, stats: Stats, timeout: float = 10.0) -> None: ...


class MqttTransport:
    """QoS 1 publications through paho's network thread; acknowledgements counted as the
    broker's PUBACKs arrive, and waited for (bounded) on close."""
    name = "mqtt"

    def __init__(self, url: str, client_id: str, prefix: str = "jianguan", qos: int = 1,
                 max_pending: int = 1000, connect_timeout: float = 10.0):
        import paho.mqtt.client as mqtt

        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
            raise SimulatorError(f"MQTT URL must be mqtt://host:port, not {url!r}")
        self.tls = parts.scheme in ("mqtts", "ssl")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if self.tls else 1883)
        self.prefix, self.qos, self.max_pending = prefix, qos, max_pending
        self.connect_timeout = connect_timeout
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if parts.username:
            self.client.username_pw_set(unquote(parts.username),
                                        unquote(parts.password) if parts.password else None)
        if self.tls:
            self.client.tls_set()
        self.client.max_inflight_messages_set(100)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self._connected = threading.Event()
        self._refused: str | None = None
        # paho may report a PUBACK before publish() has returned its info to us, so acks are
        # collected by mid here and matched to the pending infos on the next poll.
        self._lock = threading.Lock()
        self._acked_mids: set[int] = set()
        self._pending: list[tuple[Any, str]] = []

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._refused = str(reason_code)
        self._connected.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self._acked_mids.add(mid)

    def open(self) -> None:
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise SimulatorError(f"MQTT broker {self.host}:{self.port} unreachable: {exc}")
        self.client.loop_start()
        if not self._connected.wait(self.connect_timeout) or self._refused:
            self.client.loop_stop()
            raise SimulatorError(f"MQTT broker {self.host}:{self.port} refused or did not "
                                 f"answer: {self._refused or 'timeout'}")

    def send(self, message: Message, stats: Stats) -> None:
        import paho.mqtt.client as mqtt

        while len(self._pending) >= self.max_pending:     # back-pressure, not an endless queue
            self.poll(stats)
            time.sleep(0.001)
        info = self.client.publish(message.topic(self.prefix), message.payload(), qos=self.qos)
        # NO_CONN: paho keeps a QoS 1 message and sends it after reconnecting
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            stats.error(f"publish: {mqtt.error_string(info.rc)}")
            return
        stats.sent[message.kind] += 1
        self._pending.append((info, message.kind))

    def poll(self, stats: Stats) -> None:
        with self._lock:
            if not self._acked_mids:
                return
            still = []
            for info, kind in self._pending:
                if info.mid in self._acked_mids:
                    self._acked_mids.discard(info.mid)
                    stats.acked[kind] += 1
                else:
                    still.append((info, kind))
            self._pending = still

    def close(self, stats: Stats, timeout: float = 10.0) -> None:
        import paho.mqtt.client as mqtt

        deadline = time.monotonic() + timeout
        for info, _kind in list(self._pending):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                try:
                    info.wait_for_publish(timeout=left)
                except (RuntimeError, ValueError):
                    pass
        while self._pending and time.monotonic() < deadline:   # resent after a reconnect
            self.poll(stats)
            time.sleep(0.01)
        self.poll(stats)
        stats.unacked = len(self._pending)
        self.client.disconnect()
        self.client.loop_stop()


class HttpTransport:
    """POSTs to the platform's API as the gateway account; one request per message."""
    name = "http"

    def __init__(self, post: PostFn, username: str | None = None, password: str | None = None):
        self.post, self.username, self.password = post, username, password
        self.token: str | None = None

    def open(self) -> None:
        if self.username:
            self._login()

    def _login(self) -> None:
        body = json.dumps({"username": self.username, "password": self.password}).encode()
        try:
            status, answer = self.post("/api/v1/auth/token", body,
                                       {"Content-Type": "application/json"})
        except OSError as exc:
            raise SimulatorError(f"platform unreachable: {exc}")
        if status != 200 or not isinstance(answer, dict) or not answer.get("token"):
            raise SimulatorError(f"sign-in as {self.username!r} refused ({status}): {answer}")
        self.token = answer["token"]

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def send(self, message: Message, stats: Stats) -> None:
        path, body = message.http_path(), message.http_body()
        try:
            status, answer = self.post(path, body, self._headers())
            if status == 401 and self.username:         # the token expired: sign in again once
                self._login()
                status, answer = self.post(path, body, self._headers())
        except (OSError, SimulatorError) as exc:
            stats.error(f"POST {path}: {exc}")
            return
        stats.sent[message.kind] += 1
        stats.statuses[status] += 1
        if 200 <= status < 300:
            stats.acked[message.kind] += 1
            if isinstance(answer, dict) and answer.get("duplicate"):
                stats.duplicates_answered += 1
        elif status >= 500:
            stats.error(f"POST {path}: {status} {answer}")
        elif not message.malformed:      # a refusal is the point of a malformed message
            stats.refused_valid += 1
            stats.last_error = f"POST {path}: {status} {answer}"

    def poll(self, stats: Stats) -> None:
        pass

    def close(self, stats: Stats, timeout: float = 10.0) -> None:
        pass


def urllib_poster(base_url: str, timeout: float = 10.0) -> PostFn:
    """A `post` for HttpTransport over the standard library (no extra dependency)."""
    base = base_url.rstrip("/")

    def post(path: str, body: bytes, headers: dict) -> tuple[int, Any]:
        request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _json_or_none(response.read())
        except urllib.error.HTTPError as exc:      # 4xx/5xx still carry the platform's answer
            return exc.code, _json_or_none(exc.read())
    return post


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


class TokenBucket:
    """At most `rate` tokens a second on average, bursts of up to `burst` tokens."""

    def __init__(self, rate: float | None, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate = rate if rate and rate > 0 else None
        # a tenth of a second's worth keeps the pace even without one message per timer tick
        self.burst = max(1.0, burst if burst is not None else (self.rate or 0) / 10)
        self.tokens = 1.0             # no initial burst: the first second already keeps the rate
        self.clock, self.sleep = clock, sleep
        self.last = clock()

    def take(self, stop: threading.Event | None = None) -> bool:
        """Wait for one token; False when `stop` was set while waiting."""
        if self.rate is None:
            return not (stop and stop.is_set())
        while True:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1 - 1e-9:         # float sums of fractions fall just short
                self.tokens -= 1
                return True
            if stop and stop.is_set():
                return False
            # short naps so that Ctrl-C is honoured quickly even at one message a minute
            self.sleep(min(0.1, max(0.0005, (1 - self.tokens) / self.rate)))


def run(messages: Iterable[Message], transport: Transport, *, rate: float | None = None,
        count: int | None = None, seconds: float | None = None,
        stop: threading.Event | None = None, progress: Callable[[Stats], None] | None = None,
        progress_interval: float = 0.2, close_timeout: float = 10.0) -> Stats:
    """Send until `count` messages, `seconds` or `stop`; the transport is opened and closed
    here, so what is in flight is waited for whatever ends the run."""
    stop = stop or threading.Event()
    stats = Stats(transport=transport.name)
    bucket = TokenBucket(rate)
    transport.open()
    stats.started = time.monotonic()
    deadline = stats.started + seconds if seconds else None
    next_progress = stats.started + progress_interval
    try:
        for message in messages:
            if count is not None and stats.attempted >= count:
                break
            if not bucket.take(stop) or stop.is_set():
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            stats.attempted += 1
            if message.tag:
                stats.tags[message.tag] += 1
                if ":" in message.tag:                  # malformed:<variant> also as malformed
                    stats.tags[message.tag.split(":")[0]] += 1
            transport.send(message, stats)
            if time.monotonic() >= next_progress:
                transport.poll(stats)
                if progress:
                    progress(stats)
                next_progress = time.monotonic() + progress_interval
    finally:
        transport.close(stats, close_timeout)
        stats.ended = time.monotonic()
        if progress:
            progress(stats)
    return stats
