"""Pure device streams for the simulator: what the sites' devices would say, round by round.

Nothing here does I/O. A stream is an iterator of `Message`s built from a list of `Device`s, a
scenario, a seed and a clock, so the same seed and devices give the same messages; the
transports, pacing and progress display live in `integrations.simulator`.

One round is one reporting cycle: each device that is not silent sends one telemetry reading
(video a heartbeat), then the scenario may add device alarms, bursts, repeats and malformed
payloads. Readings drift per round, not per second, so a drift crosses its limits after the same
number of rounds whatever the send rate.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

KINDS = ("telemetry", "alarm", "heartbeat")
SCENARIOS = ("normal", "drift", "burst", "silence", "duplicates", "malformed", "mixed")
MALFORMED = ("not_json", "wrong_types", "unknown_device", "oversized", "topic_mismatch")
OVERSIZE_BYTES = 64 * 1024
CHINA = timezone(timedelta(hours=8))     # the sites' devices stamp local time, with its offset
PIT_CYCLES_PER_DAY = 12                  # a pit station measures every 2 h: rate is per day
HEARTBEAT_EVERY = 10                     # rounds between heartbeats of devices with readings
# A dust or wind drift holds at its peak this many rounds: the platform raises PM10 only when
# the hourly level lasts an hour, which 90 rounds of simulated minutes (--step 60) do.
DRIFT_HOLD = 90

# Device-side limits, (threshold, level) ascending, keyed by alarm type: the platform's
# defaults (processes/thresholds.py, DOMAIN.md section 5) so that what a device says and what
# the platform derives from the readings agree. Noise: GB 12523's 70 dB(A) daytime limit.
LIMITS: dict[str, tuple[tuple[float, str], ...]] = {
    "pm10": ((150.0, "warning"), (200.0, "alarm")),
    "noise": ((70.0, "warning"), (75.0, "alarm")),
    "displacement": ((21.0, "warning"), (25.5, "alarm"), (30.0, "danger")),
    "settlement": ((14.0, "warning"), (17.0, "alarm"), (20.0, "danger")),
    "rate": ((2.1, "warning"), (3.0, "alarm")),
    "overload": ((90.0, "warning"), (100.0, "alarm"), (110.0, "danger")),
    "moment": ((90.0, "warning"), (100.0, "alarm")),
    "wind": ((16.0, "warning"), (20.0, "alarm")),
    "tilt": ((0.3, "warning"), (0.4, "alarm")),
}
# Which reading an alarm type watches, per device type (the first one drifts in `drift`).
ALARM_METRICS: dict[str, dict[str, str]] = {
    "dust": {"pm10": "pm10", "noise": "noise"},
    "pit": {"displacement": "displacement", "settlement": "settlement", "rate": "rate"},
    "crane": {"wind": "wind_speed", "overload": "load_pct", "moment": "moment_pct",
              "tilt": "tilt"},
}


@dataclass(frozen=True)
class Device:
    id: str
    project_code: str
    device_type: str          # dust pit crane video
    crane_id: str | None = None


@dataclass(frozen=True)
class Message:
    """One publication. `kind` is the topic's kind; `body` the JSON payload, or `raw` bytes
    when the payload is deliberately not JSON. `tag` says why it exists beyond a plain reading:
    drift, burst, duplicate, or malformed:<variant>."""
    project_code: str
    device_type: str
    device_id: str
    kind: str
    body: dict | list | str | None
    round: int
    raw: bytes | None = None
    tag: str = ""

    def topic(self, prefix: str = "jianguan") -> str:
        return f"{prefix}/{self.project_code}/{self.device_type}/{self.device_id}/{self.kind}"

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")

    def http_path(self) -> str:
        return "/api/v1/alarms" if self.kind == "alarm" else "/api/v1/telemetry"

    def http_body(self) -> bytes:
        """What the HTTP API takes: the payload plus what MQTT puts in the topic."""
        if self.raw is not None or not isinstance(self.body, dict):
            return self.payload()
        extra = {"project_code": self.project_code, "device_type": self.device_type,
                 "device_id": self.device_id}
        if self.kind != "alarm":
            extra["kind"] = self.kind
        # the body's own identity wins: a payload naming another device stays a mismatch
        return json.dumps({**extra, **self.body}, ensure_ascii=False).encode("utf-8")

    @property
    def malformed(self) -> bool:
        return self.tag.startswith("malformed")


@dataclass(frozen=True)
class Mix:
    """How much of each behaviour a scenario has; `mixed` has a little of everything."""
    drift_share: float = 0.0          # fraction of devices whose main reading drifts
    burst_chance: float = 0.0         # per round: one device sends a burst of alarms
    burst_size: tuple[int, int] = (5, 20)
    duplicate_chance: float = 0.0     # per alarm: re-published with the same alarm_id
    duplicate_copies: tuple[int, int] = (2, 4)
    malformed_per_round: float = 0.0
    silence_share: float = 0.0        # fraction of devices that go quiet for a while


MIXES: dict[str, Mix] = {
    "normal": Mix(),
    "drift": Mix(drift_share=1.0),
    "burst": Mix(burst_chance=0.3),
    "silence": Mix(silence_share=0.4),
    "duplicates": Mix(burst_chance=0.4, burst_size=(1, 3), duplicate_chance=1.0),
    "malformed": Mix(malformed_per_round=3.0),
    "mixed": Mix(drift_share=0.25, burst_chance=0.1, burst_size=(2, 8), duplicate_chance=0.3,
                 malformed_per_round=0.3, silence_share=0.1),
}


def simulated_clock(start: datetime, step_seconds: float = 60.0) -> Callable[[int], datetime]:
    """Timestamps from simulated time: round n is `start + n * step` (fully deterministic)."""
    return lambda n: (start + timedelta(seconds=n * step_seconds)).astimezone(CHINA)


def wall_clock() -> Callable[[int], datetime]:
    """Timestamps from the wall clock when a round starts (a live demo). Strictly increasing:
    the platform takes a second reading of a device with the same `at` for a repeat."""
    last = [datetime.min.replace(tzinfo=CHINA)]

    def now(_n: int) -> datetime:
        at = datetime.now(CHINA)
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)     # sent to the ms
        last[0] = max(at, last[0] + timedelta(milliseconds=1))
        return last[0]
    return now


@dataclass
class _State:
    """Per-device simulation state; all randomness is drawn from the stream's one rng."""
    device: Device
    phase: float
    drifts: bool
    drift_start: int
    drift_rounds: int
    silent: range
    base: dict[str, float] = field(default_factory=dict)
    latched: int = 0                  # how many levels of the drift metric already alarmed
    alarms: int = 0
    last_displacement: float | None = None


def stream(devices: list[Device], scenario: str = "mixed", seed: int | None = None,
           clock: Callable[[int], datetime] | None = None,
           run_id: str = "sim") -> Iterator[Message]:
    """Messages of the devices, round after round, for ever (the caller decides when to stop).

    `run_id` goes into every alarm_id so that a second run is not taken for a repeat of the
    first by the platform's at-least-once de-duplication."""
    if scenario not in MIXES:
        raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    if not devices:
        return
    mix, rng = MIXES[scenario], random.Random(seed)
    clock = clock or simulated_clock(datetime(2026, 5, 11, 9, 0, tzinfo=CHINA))
    states = [_new_state(d, mix, rng) for d in sorted(devices, key=lambda d: d.id)]
    variant = rng.randrange(len(MALFORMED))
    n = 0
    while True:
        at = clock(n).isoformat(timespec="milliseconds")
        for i, st in enumerate(states):
            if n in st.silent:
                continue
            yield from _device_round(st, n, i, at, mix, rng, run_id)
        if rng.random() < mix.burst_chance:
            yield from _burst(rng.choice(states), n, at, mix, rng, run_id)
        for _ in range(_how_many(mix.malformed_per_round, rng)):
            yield _malformed(MALFORMED[variant % len(MALFORMED)], rng.choice(states), states,
                             n, at, rng)
            variant += 1
        n += 1


def _new_state(device: Device, mix: Mix, rng: random.Random) -> _State:
    drifts = device.device_type != "video" and rng.random() < mix.drift_share
    silent = range(0)
    if rng.random() < mix.silence_share:
        first = rng.randint(2, 10)
        silent = range(first, first + rng.randint(30, 90))
    st = _State(device, phase=rng.uniform(0, 2 * math.pi), drifts=drifts,
                drift_start=rng.randint(0, 10), drift_rounds=rng.randint(50, 80), silent=silent)
    if device.device_type == "dust":
        st.base = {"pm10": rng.uniform(70, 90), "ratio": rng.uniform(0.45, 0.65),
                   "noise": rng.uniform(58, 64)}
    elif device.device_type == "pit":
        d0 = rng.uniform(3, 8) if not drifts else rng.uniform(12, 16)
        st.base = {"d0": d0, "dmax": d0 + rng.uniform(3, 5), "tau": rng.uniform(80, 160),
                   "settle": rng.uniform(0.6, 0.8)}
    elif device.device_type == "crane":
        st.base = {"wind": rng.uniform(4, 7), "height": rng.uniform(40, 110),
                   "radius": rng.uniform(15, 45), "tilt": rng.uniform(0.05, 0.2)}
    return st


def _how_many(expected: float, rng: random.Random) -> int:
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def _ramp(st: _State, n: int) -> float:
    """0 → 1 over the drift; dust and wind come back down and drift again, a pit does not."""
    t = n - st.drift_start
    if t <= 0:
        return 0.0
    if st.device.device_type == "pit":
        return min(1.0, t / st.drift_rounds)
    cycle = st.drift_rounds + DRIFT_HOLD + 50          # rise, hold, fall 20, rest 30
    t %= cycle
    if t < st.drift_rounds:
        return t / st.drift_rounds
    t -= st.drift_rounds
    return 1.0 if t < DRIFT_HOLD else max(0.0, 1.0 - (t - DRIFT_HOLD) / 20)


def _readings(st: _State, n: int, rng: random.Random) -> dict[str, float]:
    """One reading of every metric of the device at round n."""
    b, kind = st.base, st.device.device_type
    wave = math.sin(2 * math.pi * n / 120 + st.phase)
    if kind == "dust":
        if st.drifts:
            pm10 = b["pm10"] + _ramp(st, n) * (245 - b["pm10"]) + rng.uniform(-3, 3)
        else:
            pm10 = min(120.0, max(40.0, b["pm10"] + 25 * wave + rng.uniform(-8, 8)))
        return {"pm10": round(pm10, 1), "pm2_5": round(pm10 * b["ratio"], 1),
                "noise": round(b["noise"] + 4 * wave + rng.uniform(-2, 2), 1)}
    if kind == "pit":
        if st.drifts:
            disp = b["d0"] + _ramp(st, n) * (33.0 - b["d0"])
        else:       # consolidation: grows quickly, then levels off well below the limits
            disp = b["d0"] + (b["dmax"] - b["d0"]) * (1 - math.exp(-n / b["tau"]))
        disp = round(disp + rng.uniform(-0.02, 0.02), 2)
        prev = disp if st.last_displacement is None else st.last_displacement
        st.last_displacement = disp
        return {"displacement": disp, "settlement": round(disp * b["settle"], 2),
                "rate": round((disp - prev) * PIT_CYCLES_PER_DAY, 2)}
    if kind == "crane":
        if st.drifts:
            wind = b["wind"] + _ramp(st, n) * (24.0 - b["wind"]) + rng.uniform(-0.3, 0.3)
        else:
            wind = min(10.0, max(2.0, b["wind"] + 2.5 * wave + rng.uniform(-1, 1)))
        load = rng.uniform(20, 80)
        moment = min(85.0, load * rng.uniform(0.85, 1.05))
        return {"load_pct": round(load, 1), "moment_pct": round(moment, 1),
                "wind_speed": round(wind, 1),
                "tilt": round(b["tilt"] + rng.uniform(-0.05, 0.05), 2),
                "height": round(b["height"] + rng.uniform(-2, 2), 1),
                "radius": round(min(60.0, max(5.0, b["radius"] + 10 * wave)), 1)}
    return {}


def _device_round(st: _State, n: int, index: int, at: str, mix: Mix, rng: random.Random,
                  run_id: str) -> Iterator[Message]:
    d = st.device
    if d.device_type == "video":
        yield _msg(d, "heartbeat", {"at": at}, n)
        return
    values = _readings(st, n, rng)
    yield _msg(d, "telemetry", {"at": at, "readings": values}, n, "drift" if st.drifts else "")
    if (n + index) % HEARTBEAT_EVERY == 0:
        yield _msg(d, "heartbeat", {"at": at}, n)
    if not st.drifts:
        return
    alarm_type = next(iter(ALARM_METRICS[d.device_type]))
    value = values[ALARM_METRICS[d.device_type][alarm_type]]
    limits = LIMITS[alarm_type]
    if st.latched and value < limits[0][0] * 0.9:      # back to normal: the next rise alarms again
        st.latched = 0
    while st.latched < len(limits) and value >= limits[st.latched][0]:
        threshold, level = limits[st.latched]
        st.latched += 1
        yield from _alarm(st, alarm_type, level, value, threshold, n, at, mix, rng, run_id, "drift")


def _alarm(st: _State, alarm_type: str, level: str, value: float, threshold: float, n: int,
           at: str, mix: Mix, rng: random.Random, run_id: str, tag: str) -> Iterator[Message]:
    st.alarms += 1
    body = {"alarm_id": f"{st.device.id}-{run_id}-{st.alarms:05d}", "type": alarm_type,
            "level": level, "value": value, "threshold": threshold, "at": at}
    if st.device.crane_id:
        body["crane_id"] = st.device.crane_id
    yield _msg(st.device, "alarm", body, n, tag)
    if rng.random() < mix.duplicate_chance:
        for _ in range(rng.randint(*mix.duplicate_copies) - 1):
            yield _msg(st.device, "alarm", dict(body), n, "duplicate")


def _burst(st: _State, n: int, at: str, mix: Mix, rng: random.Random,
           run_id: str) -> Iterator[Message]:
    """A device reports many alarms at once (a gust, a sensor fault, an overloaded lift)."""
    if st.device.device_type not in ALARM_METRICS or n in st.silent:
        return
    for _ in range(rng.randint(*mix.burst_size)):
        alarm_type = rng.choice(sorted(ALARM_METRICS[st.device.device_type]))
        threshold, level = rng.choice(LIMITS[alarm_type])
        value = round(threshold * rng.uniform(1.0, 1.15), 2)
        yield from _alarm(st, alarm_type, level, value, threshold, n, at, mix, rng, run_id, "burst")


def _malformed(variant: str, st: _State, states: list[_State], n: int, at: str,
               rng: random.Random) -> Message:
    """A payload the platform must refuse into a dead letter, never crash on."""
    d, tag = st.device, f"malformed:{variant}"
    kind = "heartbeat" if d.device_type == "video" else "telemetry"
    if variant == "not_json":
        raw = rng.choice([b"pm10=88;noise=61", b'{"at": "' + at.encode() + b'", "readings": {',
                          b"\xff\xfe\x00garbage\x80", b""])
        return Message(d.project_code, d.device_type, d.id, kind, None, n, raw=raw, tag=tag)
    if variant == "wrong_types":
        body = rng.choice([
            {"at": at, "readings": {"pm10": "eighty", "noise": None}},
            {"at": 1747000000, "readings": [1, 2, 3]},
            {"alarm_id": 42, "type": "wind", "level": "critical", "value": "high",
             "threshold": [20], "at": "yesterday"},
            ["not", "an", "object"],
            "just a string",
        ])
        kind = "alarm" if isinstance(body, dict) and "alarm_id" in body else kind
        return Message(d.project_code, d.device_type, d.id, kind, body, n, tag=tag)
    if variant == "unknown_device":
        ghost = f"{d.id.split('-')[0]}-XX{rng.randint(900, 999)}"      # DUST-XX917, BOX-XX950
        body = {"at": at, "readings": {"pm10": 88.0}} if kind == "telemetry" else {"at": at}
        return Message(d.project_code, d.device_type, ghost, kind, body, n, tag=tag)
    if variant == "oversized":
        body = {"at": at, "readings": {"pm10": 88.0}, "blob": "x" * (OVERSIZE_BYTES + 1024)}
        return Message(d.project_code, d.device_type, d.id, kind, body, n, tag=tag)
    # topic_mismatch: the topic names another project, another device type or the wrong kind,
    # or the payload names another device than its topic
    how = rng.choice(["project", "type", "kind", "payload"])
    body = {"at": at, "readings": {"pm10": 88.0}}
    if how == "payload":
        other = rng.choice([s.device for s in states if s.device.project_code != d.project_code]
                           or [Device("DUST-XX999", "FS-XX-2026-999", "dust")])
        body["device_id"] = other.id        # of another project: refused over HTTP too
        return Message(d.project_code, d.device_type, d.id, kind, body, n, tag=tag)
    if how == "project":
        others = sorted({s.device.project_code for s in states} - {d.project_code})
        others = others or ["FS-XX-2026-999"]
        return Message(rng.choice(others), d.device_type, d.id, kind, body, n, tag=tag)
    if how == "type":
        wrong = rng.choice([t for t in ("dust", "pit", "crane", "video") if t != d.device_type])
        return Message(d.project_code, wrong, d.id, kind, body, n, tag=tag)
    alarm = {"alarm_id": f"MISMATCH-{n}", "type": "pm10", "level": "alarm", "value": 210.0,
             "threshold": 200.0, "at": at}
    return Message(d.project_code, d.device_type, d.id, "telemetry", alarm, n, tag=tag)


def _msg(d: Device, kind: str, body: dict, n: int, tag: str = "") -> Message:
    return Message(d.project_code, d.device_type, d.id, kind, body, n, tag=tag)
