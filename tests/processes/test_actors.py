"""Who did something, as people read it (processes/actors.py): people by their display names,
read in groups of up to eight; the platform's own actors in words."""
from __future__ import annotations

from sqlalchemy import select

from processes.actors import actor_name, people_names
from processes.schema import users


def test_names_of_many_people_come_back_whole_and_only_for_people(engine):
    with engine.db.read() as conn:
        everyone = dict(conn.execute(select(users.c.username, users.c.display_name)).all())
        asked = [*everyone, "system:timer", "nobody_by_that_name", None, ""]
        names = people_names(conn, asked + list(everyone)[:3])        # repeats too
    assert len(everyone) > 8 * 2                  # several groups of eight
    assert names == everyone


def test_actors_read_as_people_and_as_the_platform():
    names = {"inspector_cc": "张监督(禅城)"}
    assert actor_name("inspector_cc", names) == "张监督(禅城)"
    assert actor_name("system:timer", names) == "系统(定时器)"
    assert actor_name("system:something_new", names) == "系统"
    assert actor_name(None, names) == "系统"
    assert actor_name("left_the_bureau", names) == "left_the_bureau"


def test_an_instance_and_its_history_name_the_people_who_acted(api):
    api.deploy("two_lanes.bpmn")
    started = api.start("two_lanes", "FS-CC-2026-001", {"project_code": "FS-CC-2026-001"},
                        as_user="inspector_cc")
    assert started.status_code == 201, started.get_json()
    iid = started.get_json()["id"]
    assert started.get_json()["started_by_name"] == "张监督(禅城)"
    assert api.instance(iid, "inspector_cc")["started_by_name"] == "张监督(禅城)"
    listed = api.get("/api/v1/instances", as_user="inspector_cc").get_json()
    rows = listed["items"] if isinstance(listed, dict) else listed
    assert [r["started_by_name"] for r in rows if r["id"] == iid] == ["张监督(禅城)"]
    draft = api.open_task(iid, "draft", "inspector_cc")
    assert api.complete(draft["id"], {}, as_user="inspector_cc").status_code == 200
    history = api.get(f"/api/v1/instances/{iid}/history", as_user="auditor").get_json()
    assert [(e["kind"], e["actor_name"]) for e in history] == [
        ("instance.started", "张监督(禅城)"), ("task.completed", "张监督(禅城)")]
