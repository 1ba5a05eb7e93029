"""Gates of one kind rendered at once by several workers (PostgreSQL, where writers do run at
once): each takes the next number in turn, none renders twice or fails for another's number."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine.schema import audit_events
from engine.timers import fire_instance

from .helpers import deploy

WORKERS = 4


@pytest.fixture
def db_kind():
    return "postgresql"


def test_concurrent_gates_of_one_kind_number_in_turn_without_retries(api, engine):
    deploy(api)
    engine.wake = None                       # the gates wait for the workers started below
    started = [api.start("doc_gate", "FS-CC-2026-001", {
        "project_code": "FS-CC-2026-001", "kind": "rectification_notice",
        "rect_issue": f"第{n}处临边防护缺失", "deadline": "2026-12-04"}).get_json()["id"]
        for n in range(WORKERS)]
    barrier, errors = threading.Barrier(WORKERS), []

    def work(instance_id: str) -> None:
        barrier.wait()
        try:
            fire_instance(engine, instance_id, actor="system:worker")
        except Exception as exc:          # noqa: BLE001 - reported below, by instance
            errors.append(f"{instance_id}: {type(exc).__name__}: {exc}")
    threads = [threading.Thread(target=work, args=(i,)) for i in started]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    assert errors == []
    numbers = []
    for instance_id in started:
        assert api.instance(instance_id)["state"] == "completed"
        (doc,) = api.get(f"/api/v1/instances/{instance_id}/documents").get_json()
        assert doc["status"] == "generated"
        numbers.append(doc["number"])
    assert sorted(n[-5:] for n in numbers) == [f"{n:05d}" for n in range(1, WORKERS + 1)]
    with engine.db.read() as conn:
        failed = conn.execute(select(audit_events.c.seq).where(
            audit_events.c.kind == "job.failed")).all()
    assert failed == [], "a render was thrown away for a number another worker took"
