"""A crane's black box reaches the crane's own filing instance while it is in service; dust and
video devices silent for three days start a rectification, once per silence."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from engine.clock import clock
from processes.alarms import check_silent
from processes.schema import alarms, devices
from tests.processes.test_crane_filing import CRANE, crane_state, into_service, started
from tests.processes.test_warning_talk import P1

BOX = f"BOX-{CRANE}"


def crane_telemetry(api, minutes: int, **readings):
    at = (clock.now() + timedelta(minutes=minutes)).isoformat()
    r = api.post("/api/v1/telemetry", as_user="gateway", json={
        "project_code": P1, "device_type": "crane", "device_id": BOX, "at": at,
        "readings": readings})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["alarms"]


def test_an_overload_reading_reaches_the_crane_in_service_and_suspends_it(api, engine):
    iid = started(api, engine)
    into_service(api, iid)
    assert crane_telemetry(api, 1, load_pct=62.0, wind_speed=6.0) == []
    (raised,) = crane_telemetry(api, 2, load_pct=104.0, wind_speed=6.0)
    assert (raised["effect"], raised["instances"]) == ("correlated", [iid])
    assert crane_state(engine) == "suspended"
    assert api.instance(iid)["variables"]["alarm"]["type"] == "load_pct"
    # still above the limit: the same episode raises nothing more
    assert crane_telemetry(api, 3, load_pct=106.0, wind_speed=6.0) == []


def test_a_crane_alarm_with_no_crane_in_service_starts_a_rectification(api, bundled):
    r = api.post("/api/v1/alarms", as_user="gateway", json={
        "project_code": P1, "device_type": "crane", "device_id": BOX, "alarm_id": "B-1",
        "type": "wind_speed", "level": "alarm", "value": 23.0, "threshold": 20.0,
        "at": clock.now().isoformat()})
    (raised,) = r.get_json()["alarms"]
    assert raised["effect"] == "started"
    assert api.instance(raised["instances"][0])["business_key"] == P1


def _silence(engine, device_id: str, days: float) -> None:
    with engine.db.write() as conn:
        conn.execute(update(devices).where(devices.c.id == device_id).values(
            last_seen_at=clock.now() - timedelta(days=days), state="online"))


def test_a_device_silent_for_three_days_starts_one_rectification(api, bundled):
    engine = bundled
    _silence(engine, "VIDEO-CC001", 2.5)
    assert check_silent(engine) == 0                     # two and a half days: not yet
    clock.freeze(clock.now() + timedelta(days=1))        # time passes, no data comes
    assert check_silent(engine) == 1
    assert check_silent(engine) == 0                     # once per silence
    with engine.db.read() as conn:
        row = conn.execute(select(alarms)).one()
        state = conn.execute(select(devices.c.state).where(
            devices.c.id == "VIDEO-CC001")).scalar()
    assert (row.type, row.source, row.effect, state) == ("offline", "silence", "started",
                                                          "offline")
    inst = api.instance(row.instances[0])
    assert inst["business_key"] == P1
    assert [t["element_id"] for t in inst["tasks"]] == ["rect_notice"]
    # the device comes back, then falls silent again: a new silence, a new alarm
    api.post("/api/v1/telemetry", as_user="gateway", json={
        "project_code": P1, "device_type": "video", "device_id": "VIDEO-CC001",
        "kind": "heartbeat", "at": clock.now().isoformat()})
    clock.freeze(clock.now() + timedelta(days=3, hours=1))
    # every dust monitor and camera of the 12 demo projects: none reported for 3 days
    assert check_silent(engine) == 24
    with engine.db.read() as conn:
        offline = conn.execute(select(alarms.c.effect).where(
            alarms.c.device_id == "VIDEO-CC001").order_by(alarms.c.id)).scalars().all()
    assert len(offline) == 2
