"""`flask --app app simulate-devices`: the demo sites' devices talking to the platform.

Reads the registered devices from the database, generates their streams
(`integrations.device_streams`) and sends them over MQTT or HTTP (`integrations.simulator`),
with one status line updated in place and a summary at the end.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
from datetime import datetime, timezone

import click
from flask import Flask

from integrations.device_streams import SCENARIOS, simulated_clock, stream, wall_clock
from engine.i18n import _


def register(app: Flask) -> None:
    engine = app.extensions["jianguan.engine"]

    @app.cli.command("simulate-devices")
    @click.option("--scenario", type=click.Choice(SCENARIOS), default="mixed", show_default=True,
                  help="normal, drift past limits, alarm bursts, silent devices, repeated "
                       "alarm ids, malformed payloads, or a weighted mix of all")
    @click.option("--transport", type=click.Choice(["mqtt", "http"]), default=None,
                  help="default: mqtt when MQTT_URL is configured or --mqtt-url given, else http")
    @click.option("--mqtt-url", default=None, help="e.g. mqtt://127.0.0.1:1883 (MQTT_URL)")
    @click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
                  help="the platform, for --transport http")
    @click.option("--username", envvar="JIANGUAN_GATEWAY_USER", default="gateway",
                  show_default=True, help="HTTP sign-in (env JIANGUAN_GATEWAY_USER)")
    @click.option("--password", envvar="JIANGUAN_GATEWAY_PASSWORD", default=None,
                  help="env JIANGUAN_GATEWAY_PASSWORD; default: the demo password")
    @click.option("--rate", type=float, default=10.0, show_default=True,
                  help="messages per second; 0 for as fast as possible")
    @click.option("--count", type=int, default=None, help="stop after N messages")
    @click.option("--seconds", type=float, default=None, help="stop after S seconds")
    @click.option("--projects", default=None, help="project codes, comma-separated")
    @click.option("--seed", type=int, default=None,
                  help="same seed, same streams (with --start and --run-id: same bytes)")
    @click.option("--run-id", default=None,
                  help="goes into alarm ids (default: from the time), so runs do not collide")
    @click.option("--start", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
                  default=None, help="stamp simulated time from here (default: wall clock)")
    @click.option("--step", type=float, default=60.0, show_default=True,
                  help="simulated seconds per round, with --start")
    @click.option("--topic-prefix", default=None, help="default: MQTT_TOPIC_PREFIX (jianguan)")
    @click.option("--summary-json", type=click.Path(dir_okay=False, writable=True), default=None,
                  help="also write the final counts to this file")
    @click.option("--quiet", is_flag=True, help="no status line")
    def simulate_devices(scenario, transport, mqtt_url, base_url, username, password, rate,
                         count, seconds, projects, seed, run_id, start, step, topic_prefix,
                         summary_json, quiet):
        """Publish realistic device streams of the demo sites (telemetry, alarms, heartbeats)."""
        from integrations.simulator import (HttpTransport, MqttTransport, SimulatorError,
                                            load_devices, run, urllib_poster)
        from processes.demo import DEMO_PASSWORD

        wanted = [p.strip() for p in projects.split(",") if p.strip()] if projects else None
        with engine.db.read() as conn:
            devices = load_devices(conn, wanted)
        if not devices:
            raise click.ClickException(
                "没有登记的设备 (no devices registered"
                + (f" for {', '.join(wanted)}" if wanted else "")
                + "): run `flask --app app load-demo` or check --projects")
        if wanted:
            missing = sorted(set(wanted) - {d.project_code for d in devices})
            if missing:
                raise click.ClickException(_("这些项目没有设备: {value}").format(value=', '.join(missing)))

        mqtt_url = mqtt_url or app.extensions["jianguan.settings"].mqtt_url
        transport = transport or ("mqtt" if mqtt_url else "http")
        run_id = run_id or datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        if seed is None:                  # drawn, and printed, so that any run can be replayed
            seed = random.SystemRandom().randrange(1_000_000)
        if transport == "mqtt":
            if not mqtt_url:
                raise click.UsageError("--transport mqtt needs --mqtt-url or MQTT_URL")
            sender = MqttTransport(mqtt_url, client_id=f"jianguan-sim-{run_id}-{os.getpid()}",
                                   prefix=topic_prefix
                                   or app.extensions["jianguan.settings"].mqtt_topic_prefix)
            target = mqtt_url
        else:
            sender = HttpTransport(urllib_poster(base_url), username,
                                   password if password is not None else DEMO_PASSWORD)
            target = base_url
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        clock = simulated_clock(start, step) if start else wall_clock()
        messages = stream(devices, scenario, seed=seed, clock=clock, run_id=run_id)
        click.echo(_("模拟 {len_devices} 台设备 → {transport} {target}, scenario {scenario}, seed "
                     "{seed}, run {run_id}, rate {value}/s; Ctrl-C 停止").format(
                       len_devices=len(devices), transport=transport, target=target,
                       scenario=scenario, seed=seed, run_id=run_id, value=rate or 'unlimited'), err=True)

        stop = threading.Event()
        restore = _on_signals(stop)
        try:
            stats = run(messages, sender, rate=rate, count=count, seconds=seconds, stop=stop,
                        progress=None if quiet else _StatusLine())
        except SimulatorError as exc:
            raise click.ClickException(str(exc))
        finally:
            restore()

        click.echo(_summary(stats, scenario, seed, run_id))
        if summary_json:
            with open(summary_json, "w", encoding="utf-8") as fh:
                json.dump({"scenario": scenario, "seed": seed, "run_id": run_id,
                           "devices": len(devices), **stats.as_dict()}, fh, ensure_ascii=False)
        if stats.errors or stats.unacked:
            sys.exit(1)


class _StatusLine:
    """One line rewritten in place on a terminal; a line every few seconds in a log."""

    def __init__(self, every: float = 5.0):
        self.tty = sys.stderr.isatty()
        self.every, self.last = every, 0.0

    def __call__(self, stats) -> None:
        if self.tty:
            click.echo("\r\x1b[2K" + stats.line(), nl=stats.ended is not None, err=True)
        elif stats.ended is not None or stats.elapsed - self.last >= self.every:
            self.last = stats.elapsed
            click.echo(stats.line(), err=True)


def _on_signals(stop: threading.Event):
    """Ctrl-C and SIGTERM end the run cleanly (in-flight messages acknowledged) instead of
    raising in the middle of a publish. Only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum, frame):
        if stop.is_set():                       # a second Ctrl-C: the operator means it
            raise KeyboardInterrupt
        stop.set()
    for sig in previous:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return restore


def _summary(stats, scenario: str, seed: int | None, run_id: str) -> str:
    sent = ", ".join(f"{k} {v}" for k, v in sorted(stats.sent.items()))
    tags = ", ".join(f"{k} {v}" for k, v in sorted(stats.tags.items()) if ":" not in k)
    lines = [_("模拟结束: {transport}, scenario {scenario}, seed {seed}, run {run_id}").format(
                 transport=stats.transport, scenario=scenario, seed=seed, run_id=run_id),
             f"  sent {sum(stats.sent.values())} of {stats.attempted}: {sent or 'nothing'}",
             f"  tags: {tags or 'none'}",
             f"  acknowledged {sum(stats.acked.values())}, unacknowledged {stats.unacked}, "
             f"errors {stats.errors}",
             f"  {stats.elapsed:.1f} s, {stats.rate:.1f} msg/s"]
    if stats.transport == "http":
        answers = ", ".join(f"{k} × {v}" for k, v in sorted(stats.statuses.items()))
        lines.insert(4, f"  HTTP: {answers or 'none'}; duplicate answers "
                        f"{stats.duplicates_answered}; well-formed but refused "
                        f"{stats.refused_valid}")
    if stats.last_error:
        lines.append(f"  last error: {stats.last_error}")
    return "\n".join(lines)
