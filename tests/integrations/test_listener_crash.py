"""`flask mqtt-listen` as a real process, killed with SIGKILL in the middle of a stream of
alarms and started again: every alarm arrives, none has a second effect."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from engine.schema import audit_events as audit, instances
from processes.demo import PROJECTS
from processes.schema import alarms
from tests.integrations.mqtt_helpers import MQTT_URL, Publisher, alarm, new_prefix
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def listen(engine, prefix: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": engine.db.url, "MQTT_URL": MQTT_URL,
           "SECRET_KEY": "test-secret"}
    env.pop("CELERY_BROKER_URL", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "mqtt-listen",
                             "--client-id", f"crash-{prefix}", "--prefix", prefix],
                            cwd=ROOT, env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT)


def probes(engine) -> int:
    with engine.db.read() as conn:
        return conn.execute(select(func.count()).select_from(alarms).where(
            alarms.c.alarm_id.like("probe-%"))).scalar()


def listening(engine, pub: Publisher, device: tuple, n: list) -> bool:
    """A probe alarm goes through: the listener's session and subscription exist."""
    n[0] += 1
    pub.send(device[0], "dust", device[1], "alarm", alarm(f"probe-{n[0]}", level="warning"),
             wait=True)
    return probes(engine) > 0


def keyed(engine) -> int:
    with engine.db.read() as conn:
        return conn.execute(select(func.count()).select_from(alarms).where(
            alarms.c.alarm_id.like("K-%"))).scalar()


def test_sigkill_mid_stream_loses_nothing_and_applies_nothing_twice(bundled, tmp_path):
    engine, prefix, log = bundled, new_prefix(), tmp_path / "listener.log"
    dust = [(code, f"DUST-{code.replace('FS-', '').replace('-2026-', '')}")
            for code, *_ in PROJECTS]
    proc = listen(engine, prefix, log)
    pub = Publisher(prefix)
    try:
        sent = [0]
        wait_until(lambda: listening(engine, pub, dust[0], sent), 60,
                   "a probe alarm through the listener (session and subscription up)",
                   on_timeout=lambda: log.read_text()[-2000:])
        total, freeze_at, kill_at = 1500, 400, 600
        for i in range(total):
            code, device = dust[i % len(dust)]
            pub.send(code, "dust", device, "alarm", alarm(f"K-{i}"))
            if i == freeze_at:
                pub.flush()
                wait_until(lambda: keyed(engine) > 150, 60, "some applied")
                proc.send_signal(signal.SIGSTOP)   # frozen, perhaps mid-batch
            if i == kill_at:
                pub.flush()                        # the broker took them: delivered, unacked
                applied = keyed(engine)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                assert 150 < applied <= freeze_at + 1    # killed holding unapplied deliveries
        pub.flush()
        assert keyed(engine) < total                     # the rest waits at the broker
        proc = listen(engine, prefix, log)
        wait_until(lambda: keyed(engine) == total, 90, "every alarm applied",
                   on_timeout=lambda: f"{keyed(engine)} of {total} applied; "
                                      f"{log.read_text()[-2000:]}")
    finally:
        pub.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0, log.read_text()[-2000:]
    with engine.db.read() as conn:
        started = conn.execute(select(func.count()).select_from(instances).where(
            instances.c.process_key == "rectification")).scalar()
        start_events = conn.execute(select(func.count()).select_from(audit).where(
            audit.c.kind == "instance.started")).scalar()
    assert started == len(dust) == start_events        # one per project, not one per delivery
    assert "Traceback" not in log.read_text()
