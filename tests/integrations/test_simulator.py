"""The device simulator: its pure streams, its pacing, and both transports against real servers
(the machine's Mosquitto on 127.0.0.1:1883, the platform served by werkzeug)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter, defaultdict
from datetime import datetime
from itertools import islice

import paho.mqtt.client as mqtt
import pytest

from integrations.device_streams import (LIMITS, MALFORMED, OVERSIZE_BYTES, Device, stream,
                                         simulated_clock)
from integrations.simulator import HttpTransport, Stats, TokenBucket, load_devices
from processes.demo import CRANES, PIT_PROJECTS, PROJECTS

MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
START = "2026-05-11T09:00:00+08:00"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def demo_devices() -> list[Device]:
    """The demo's devices as processes/demo.py registers them, without a database."""
    found = []
    for code, *_ in PROJECTS:
        short = code.replace("FS-", "").replace("-2026-", "")
        found += [Device(f"DUST-{short}", code, "dust"), Device(f"VIDEO-{short}", code, "video")]
        if code in PIT_PROJECTS:
            found.append(Device(f"PIT-{short}", code, "pit"))
    found += [Device(f"BOX-{crane_id}", code, "crane", crane_id) for crane_id, code, *_ in CRANES]
    return sorted(found, key=lambda d: d.id)


def take(scenario: str, n: int, seed: int = 1, run_id: str = "t") -> list:
    clock = simulated_clock(datetime.fromisoformat(START), 60)
    return list(islice(stream(demo_devices(), scenario, seed=seed, clock=clock, run_id=run_id), n))


@pytest.fixture
def demo_app(sqlite_app):
    from processes.demo import load_reference
    from web.cli_devices import register

    with sqlite_app.extensions["jianguan.engine"].db.write() as conn:
        load_reference(conn)
    if "simulate-devices" not in sqlite_app.cli.commands:     # until web/cli.py registers it
        register(sqlite_app)
    return sqlite_app


# --- pure streams ----------------------------------------------------------------------------

def test_devices_come_from_the_database(demo_app):
    with demo_app.extensions["jianguan.engine"].db.read() as conn:
        assert load_devices(conn) == demo_devices()
        some = load_devices(conn, ["FS-CC-2026-001", "FS-NH-2026-001"])
    assert {d.id for d in some} == {"DUST-CC001", "VIDEO-CC001", "BOX-QZ-CC001-01",
                                    "DUST-NH001", "VIDEO-NH001", "PIT-NH001"}
    assert [d.crane_id for d in some if d.device_type == "crane"] == ["QZ-CC001-01"]


def test_same_seed_same_stream():
    first, again = take("mixed", 2000, seed=7), take("mixed", 2000, seed=7)
    assert [(m.topic(), m.payload()) for m in first] == [(m.topic(), m.payload()) for m in again]
    other = take("mixed", 2000, seed=8)
    assert [m.payload() for m in first] != [m.payload() for m in other]


def test_normal_stays_under_limits():
    msgs = take("normal", 3000)
    assert {m.kind for m in msgs} == {"telemetry", "heartbeat"} and not any(m.tag for m in msgs)
    by_type = defaultdict(list)
    for m in msgs:
        assert m.topic().startswith(f"jianguan/{m.project_code}/{m.device_type}/{m.device_id}/")
        datetime.fromisoformat(m.body["at"])                       # ISO 8601, with its offset
        if m.kind == "telemetry":
            by_type[m.device_type].append(m.body["readings"])
    assert all(40 <= r["pm10"] <= 120 and r["noise"] < 70 for r in by_type["dust"])
    assert all(r["displacement"] < 15 and r["settlement"] < 14 and r["rate"] < 2.1
               for r in by_type["pit"])
    assert all(20 <= r["load_pct"] <= 80 and 2 <= r["wind_speed"] <= 10 and r["tilt"] < 0.3
               and r["moment_pct"] < 90 for r in by_type["crane"])
    assert set(by_type) == {"dust", "pit", "crane"}                 # video: heartbeats only
    # displacement is cumulative: it grows slowly round after round
    pit = [m.body["readings"]["displacement"] for m in msgs
           if m.device_id == "PIT-NH001" and m.kind == "telemetry"]
    assert pit[-1] > pit[0]


def test_drift_crosses_limits_in_order():
    msgs = take("drift", 4000)
    watched = {"dust": ("pm10", "pm10"), "pit": ("displacement", "displacement"),
               "crane": ("wind", "wind_speed")}
    for device in demo_devices():
        if device.device_type == "video":
            continue
        alarm_type, metric = watched[device.device_type]
        mine = [m for m in msgs if m.device_id == device.id]
        alarms = [m.body for m in mine if m.kind == "alarm"]
        limits = LIMITS[alarm_type]
        assert [(a["threshold"], a["level"]) for a in alarms] == list(limits), device.id
        assert all(a["type"] == alarm_type and a["value"] >= a["threshold"] for a in alarms)
        first = next(i for i, m in enumerate(mine) if m.kind == "alarm")
        *before, crossing = [m.body["readings"][metric] for m in mine[:first]
                             if m.kind == "telemetry"]
        assert before and max(before) < limits[0][0], device.id
        assert crossing == alarms[0]["value"]          # the alarm follows the reading it saw
        if device.crane_id:
            assert {a["crane_id"] for a in alarms} == {device.crane_id}
    assert [lv for _, lv in LIMITS["displacement"]] == ["warning", "alarm", "danger"]
    assert [t for t, _ in LIMITS["displacement"]] == [21.0, 25.5, 30.0]


def test_malformed_payloads_of_every_kind():
    msgs = take("malformed", 600)
    bad = [m for m in msgs if m.malformed]
    assert {m.tag.split(":")[1] for m in bad} == set(MALFORMED)
    registry = {d.id: d for d in demo_devices()}
    for m in bad:
        variant = m.tag.split(":")[1]
        if variant == "not_json":
            with pytest.raises(ValueError):
                json.loads(m.payload())
        elif variant == "oversized":
            assert len(m.payload()) > OVERSIZE_BYTES
        elif variant == "unknown_device":
            assert m.device_id not in registry
        elif variant == "topic_mismatch":
            d = registry[m.device_id]
            assert (m.project_code, m.device_type) != (d.project_code, d.device_type) or \
                "alarm_id" in m.body or m.body.get("device_id") not in (None, d.id)
        elif variant == "wrong_types":
            assert not _well_typed(json.loads(m.payload())), m.payload()
    good = [m for m in msgs if not m.malformed]
    assert all(isinstance(json.loads(m.payload()), dict) for m in good)


def _well_typed(body) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("at"), str):
        return False
    if "alarm_id" in body:
        return isinstance(body["alarm_id"], str) and isinstance(body["value"], (int, float)) \
            and body["level"] in ("warning", "alarm", "danger")
    readings = body.get("readings")
    return isinstance(readings, dict) and all(isinstance(v, (int, float))
                                              for v in readings.values())


def test_duplicates_repeat_the_alarm_id():
    msgs = take("duplicates", 3000, run_id="dup1")
    alarms = [m for m in msgs if m.kind == "alarm"]
    seen = Counter((m.device_id, m.body["alarm_id"]) for m in alarms)
    assert max(seen.values()) >= 2
    for m in alarms:
        assert m.body["alarm_id"].startswith(f"{m.device_id}-dup1-")
        if m.tag == "duplicate":          # a repeat is the very same payload, same topic
            assert any(o is not m and o.tag != "duplicate" and o.payload() == m.payload()
                       and o.topic() == m.topic() for o in alarms)
    originals = [m for m in alarms if m.tag != "duplicate"]
    assert len({(m.device_id, m.body["alarm_id"]) for m in originals}) == len(originals)


def test_silence_skips_devices_then_they_come_back():
    msgs = take("silence", 4000)
    rounds = defaultdict(set)
    for m in msgs:
        rounds[m.device_id].add(m.round)
    last = max(m.round for m in msgs)
    gaps = {d: set(range(1, last)) - r for d, r in rounds.items()}
    quiet = [d for d, g in gaps.items() if len(g) >= 30]
    assert quiet and len(quiet) < len(rounds)
    assert any(max(rounds[d]) > max(gaps[d]) for d in quiet)     # and some speak again


def test_burst_of_device_alarms():
    msgs = take("burst", 3000)
    per_round = Counter((m.round, m.device_id) for m in msgs if m.tag == "burst")
    assert max(per_round.values()) >= 5
    for m in msgs:
        if m.tag == "burst":
            assert m.body["value"] >= m.body["threshold"]
            assert (m.body["threshold"], m.body["level"]) in LIMITS[m.body["type"]]


def test_mixed_has_a_bit_of_everything():
    msgs = take("mixed", 6000)
    assert {m.kind for m in msgs} == {"telemetry", "alarm", "heartbeat"}
    assert {m.tag.split(":")[0] for m in msgs} >= {"", "drift", "burst", "duplicate", "malformed"}
    assert sum(m.tag == "" for m in msgs) > len(msgs) / 2


def test_token_bucket_keeps_the_rate():
    now = [0.0]
    bucket = TokenBucket(50, clock=lambda: now[0],
                         sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(500):
        assert bucket.take()
    assert 9.9 <= now[0] <= 10.1
    # one token in 1000 s: a stop set while it waits ends the wait after the current short nap
    now, naps, stop = [0.0], [], threading.Event()

    def nap(seconds: float) -> None:
        naps.append(seconds)
        stop.set()
        now[0] += seconds
    slow = TokenBucket(0.001, clock=lambda: now[0], sleep=nap)
    assert slow.take(stop)                                # the first token is there at once
    assert not slow.take(stop)
    assert naps == [0.1]
    assert TokenBucket(None).take()


def test_http_transport_signs_in_again_when_the_token_expires():
    calls = []

    def post(path, body, headers):
        calls.append((path, headers.get("Authorization")))
        if path == "/api/v1/auth/token":
            return 200, {"token": f"tok{sum(p == path for p, _ in calls)}"}
        if headers.get("Authorization") == "Bearer tok1" and len(calls) > 3:
            return 401, {"message": "expired"}
        return 201, {"duplicate": False}

    transport, stats = HttpTransport(post, "gateway", "pw"), Stats(transport="http")
    transport.open()
    for m in take("normal", 4):
        transport.send(m, stats)
    assert [a for _, a in calls] == [None, "Bearer tok1", "Bearer tok1", "Bearer tok1", None,
                                     "Bearer tok2", "Bearer tok2"]
    assert sum(stats.acked.values()) == 4 and stats.errors == 0


# --- real transports -------------------------------------------------------------------------

class Subscriber:
    """A real paho client on the broker, collecting what arrives under its topic prefix."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.received: list[tuple[str, bytes, int]] = []
        self._arrived, self._subscribed = threading.Condition(), threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"sim-test-sub-{uuid.uuid4().hex[:12]}")
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(MQTT_HOST, MQTT_PORT)
        self.client.loop_start()
        assert self._subscribed.wait(30), "no SUBACK from Mosquitto on 127.0.0.1:1883"

    def _on_message(self, client, userdata, message) -> None:
        with self._arrived:
            self.received.append((message.topic, message.payload, message.qos))
            self._arrived.notify_all()

    def wait_for(self, n: int, timeout: float = 30) -> int:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= n, timeout)
            return len(self.received)

    def everything(self) -> list:
        """All that arrived before an end marker published now: the broker had acknowledged
        the simulator's messages before, so they are ahead of it in this session's queue."""
        marker = f"{self.prefix}/end/{uuid.uuid4().hex}"
        self.client.publish(marker, b"", qos=1)
        with self._arrived:
            assert self._arrived.wait_for(
                lambda: any(t == marker for t, _, _ in self.received), 30)
            return [r for r in self.received if r[0] != marker]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mqtt_subscriber_receives_what_the_simulator_sent(demo_app, tmp_path):
    prefix = f"jianguan-simtest-{uuid.uuid4().hex[:10]}"    # not the listener's jianguan/#
    subscriber = Subscriber(prefix)
    summary = tmp_path / "summary.json"
    try:
        result = demo_app.test_cli_runner().invoke(args=[
            "simulate-devices", "--mqtt-url", f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
            "--topic-prefix", prefix, "--scenario", "burst", "--seed", "11", "--run-id", "m1",
            "--count", "200", "--rate", "200", "--start", START, "--summary-json", str(summary)])
        assert result.exit_code == 0, result.output
        stats = json.loads(summary.read_text())
        got = subscriber.everything()
    finally:
        subscriber.close()
    assert stats["attempted"] == 200 and stats["errors"] == 0 and stats["unacked"] == 0
    assert stats["sent"] == stats["acked"]
    received = Counter(topic.rsplit("/", 1)[1] for topic, _, _ in got)
    assert dict(received) == {k: v for k, v in stats["sent"].items() if v}
    assert received["alarm"] > 0 and {qos for _, _, qos in got} == {1}
    assert stats["rate"] <= 220           # paced: 200 at 200/s take at least a second
    # exactly the seeded stream, each topic in order
    with demo_app.extensions["jianguan.engine"].db.read() as conn:
        devices = load_devices(conn)
    expected = list(islice(stream(devices, "burst", seed=11, run_id="m1",
                                  clock=simulated_clock(datetime.fromisoformat(START), 60)), 200))
    by_topic_sent, by_topic_got = defaultdict(list), defaultdict(list)
    for m in expected:
        by_topic_sent[m.topic(prefix)].append(m.payload())
    for topic, payload, _ in got:
        by_topic_got[topic].append(payload)
    assert by_topic_got == by_topic_sent
    assert "sent 200 of 200" in result.output and "acknowledged 200" in result.output


def test_sigterm_stops_cleanly_after_the_acknowledgements(demo_app, tmp_path):
    summary, prefix = tmp_path / "summary.json", f"jianguan-simtest-{uuid.uuid4().hex[:10]}"
    script = (
        "import sys\n"
        "from app import create_app\n"
        "from web.cli_devices import register\n"
        "app = create_app({'DATABASE_URL': sys.argv[1], 'SECRET_KEY': 't',"
        " 'VAR_DIR': sys.argv[2]})\n"
        "register(app)\n"
        "r = app.test_cli_runner().invoke(args=sys.argv[3:])\n"
        "print(r.output)\n"
        "sys.exit(r.exit_code)\n")
    subscriber = Subscriber(prefix)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, demo_app.config["DATABASE_URL"],
             str(tmp_path / "var"), "simulate-devices", "--mqtt-url",
             f"mqtt://{MQTT_HOST}:{MQTT_PORT}", "--topic-prefix", prefix, "--rate", "100",
             "--summary-json", str(summary)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert subscriber.wait_for(50) >= 50      # it is sending: now stop it mid-stream
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        stats = json.loads(summary.read_text())
        got = subscriber.everything()
    finally:
        subscriber.close()
    assert stats["attempted"] >= 50 and stats["unacked"] == 0 and stats["errors"] == 0
    assert stats["sent"] == stats["acked"] and "模拟结束" in out
    assert len(got) == stats["attempted"]      # nothing in flight was lost by stopping


def test_http_transport_against_the_platform(demo_app, tmp_path):
    """Over HTTP as the demo gateway: well-formed messages accepted, malformed ones refused
    with a 422 (dead letter), repeated alarm ids answered as duplicates."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", 0, demo_app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    runner, results = demo_app.test_cli_runner(), {}
    try:
        for scenario in ("malformed", "duplicates"):
            summary = tmp_path / f"{scenario}.json"
            result = runner.invoke(args=[
                "simulate-devices", "--transport", "http", "--base-url",
                f"http://127.0.0.1:{server.server_port}", "--scenario", scenario, "--seed", "5",
                "--count", "150", "--rate", "0", "--summary-json", str(summary)])
            assert result.exit_code == 0, result.output
            results[scenario] = json.loads(summary.read_text())
    finally:
        server.shutdown()
        thread.join(timeout=10)
    for scenario, stats in results.items():
        assert stats["errors"] == 0 and stats["refused_valid"] == 0, (scenario, stats)
        assert sum(stats["sent"].values()) == 150
        assert stats["statuses"].get("422", 0) == stats["tags"].get("malformed", 0), stats
    assert results["malformed"]["tags"]["malformed"] >= len(MALFORMED)
    dup = results["duplicates"]
    assert dup["tags"]["duplicate"] > 0
    assert dup["duplicates_answered"] == dup["tags"]["duplicate"]
