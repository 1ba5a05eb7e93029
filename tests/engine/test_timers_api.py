"""Timers: boundary (interrupting and not) and an event-based gateway, fired by moving the
engine's clock and running the same firing code a worker runs."""
from __future__ import annotations

from datetime import timedelta

from engine.clock import clock
from engine.timers import fire_due

P1 = "FS-CC-2026-001"


def start(api, **variables):
    assert api.deploy("timers.bpmn").status_code in (200, 201)
    r = api.start("timers", P1, {"project_code": P1, "deadline": "P2D", **variables})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def timers_of(api, iid):
    return {w["element_id"]: w["due_at"] for w in api.instance(iid)["waiting"]
            if w["type"] == "timer"}


def test_waiting_timers_are_stored_with_due_times_and_on_the_task(api, engine):
    iid = start(api)
    due = timers_of(api, iid)
    assert set(due) == {"overdue", "reminder"}
    task = api.open_task(iid, "fix")
    assert task["due_at"] == due["overdue"]       # the interrupting boundary is the deadline
    assert fire_due(engine) == 0                  # nothing is due yet


def test_non_interrupting_then_interrupting_boundary(api, engine):
    iid = start(api)
    clock.advance(timedelta(days=1, minutes=1))
    assert fire_due(engine) == 1
    inst = api.instance(iid)
    assert inst["variables"]["reminded"] is True
    assert [t["element_id"] for t in inst["tasks"]] == ["fix"]
    assert fire_due(engine) == 0                  # fired once, not again
    clock.advance(timedelta(days=2))
    assert api.get("/api/v1/tasks?overdue=true").get_json()[0]["element_id"] == "fix"
    assert fire_due(engine) == 1
    assert [t["element_id"] for t in api.instance(iid)["tasks"]] == ["escalate"]
    kinds = [e["kind"] for e in api.get(f"/api/v1/instances/{iid}/history").get_json()]
    assert kinds.count("timer.fired") == 2


def test_event_based_gateway_message_wins(api, engine):
    iid = start(api)
    api.complete(api.open_task(iid, "fix")["id"])
    waiting = api.instance(iid)["waiting"]
    assert {(w["type"], w["element_id"]) for w in waiting} == {
        ("message", "got_reply"), ("timer", "no_reply")}
    assert api.message("reply", {}).get_json()["correlated"] == [iid]
    assert api.instance(iid)["state"] == "completed"
    clock.advance(timedelta(days=3))
    assert fire_due(engine) == 0


def test_event_based_gateway_timer_from_a_variable_wins(api, engine):
    iid = start(api, deadline="PT6H")
    api.complete(api.open_task(iid, "fix")["id"])
    clock.advance(timedelta(hours=6, seconds=1))
    assert fire_due(engine) == 1
    inst = api.instance(iid)
    assert inst["state"] == "completed" and inst["waiting"] == []
    assert api.message("reply", {}).get_json()["correlated"] == []


def test_a_non_interrupting_cycle_timer_fires_each_period_and_stops_after_its_count(api, engine):
    assert api.deploy("cycle.bpmn").status_code == 201
    iid = api.start("cycle", P1, {"project_code": P1}).get_json()["id"]
    for n in (1, 2, 3):
        clock.advance(timedelta(days=30, minutes=1))
        assert fire_due(engine) == 1
        assert sorted(t["element_id"] for t in api.instance(iid)["tasks"]) == ["rec"] * n + ["wait"]
    clock.advance(timedelta(days=30, minutes=1))
    assert fire_due(engine) == 0                       # R3: three times, then no more
    assert [w["type"] for w in api.instance(iid)["waiting"]] == []
