"""Moving running instances to a new version through the API: dry run, batch, progress."""
from __future__ import annotations

from tests.engine.migration_diagrams import renamed_reply
from tests.waiting import wait_until

PROJECT = "FS-CC-2026-001"


def start_three(api) -> tuple[str, str, str]:
    """One instance waiting at `draft`, two at `reply` (v1)."""
    assert api.deploy("two_lanes.bpmn").status_code in (200, 201)
    ids = []
    for _ in range(3):
        r = api.start("two_lanes", PROJECT, {"project_code": PROJECT})
        assert r.status_code == 201, r.get_json()
        ids.append(r.get_json()["id"])
    for instance_id in ids[1:]:
        draft = api.open_task(instance_id, "draft")
        assert api.complete(draft["id"], as_user="inspector_cc").status_code == 200
    r = api.deploy(files={"two_lanes.bpmn": renamed_reply()})
    assert r.status_code == 201, r.get_json()
    return ids[0], ids[1], ids[2]


def body(dry_run=True, mapping=None, **kw):
    return {"process_key": "two_lanes", "from_version": 1, "to_version": 2,
            "mapping": mapping or {}, "dry_run": dry_run, **kw}


def test_dry_run_proposes_same_ids_and_names_what_cannot_move(api):
    at_draft, at_reply, _ = start_three(api)
    r = api.post("/api/v1/migrations", as_user="designer", json=body())
    assert r.status_code == 200, r.get_json()
    plan = r.get_json()
    assert plan["mapping"]["draft"] == "draft" and "reply" not in plan["proposed"]
    assert {e["id"] for e in plan["elements"]["to"]} >= {"draft", "reply2", "cancel_ev"}
    report = {i["instance_id"]: i for i in plan["instances"]}
    assert report[at_draft]["movable"] and report[at_draft]["moves"] == {"draft": "draft"}
    assert not report[at_reply]["movable"]
    assert "reply" in report[at_reply]["refusal"] and "没有对应元素" in report[at_reply]["refusal"]
    assert (plan["total"], plan["movable"], plan["refused"]) == (3, 1, 2)
    # with the renamed step mapped, every instance can move; nothing has changed yet
    mapped = api.post("/api/v1/migrations", as_user="designer",
                      json=body(mapping={"reply": "reply2"})).get_json()
    assert mapped["movable"] == 3
    assert api.instance(at_reply)["version"] == 1


def test_a_batch_moves_what_it_can_and_refuses_the_unmapped_instance_only(api):
    at_draft, at_reply, other = start_three(api)
    r = api.post("/api/v1/migrations", as_user="designer", json=body(dry_run=False))
    assert r.status_code == 202, r.get_json()
    batch = r.get_json()["id"]
    done = wait_until(lambda: (lambda p: p if p["state"] == "done" else None)(
        api.get(f"/api/v1/migrations/{batch}", as_user="designer").get_json()),
        30, "the batch to finish")
    assert done["counts"] == {"pending": 0, "moved": 1, "refused": 2, "failed": 0}
    assert done["percent"] == 100.0
    assert api.instance(at_draft)["version"] == 2
    assert api.instance(at_reply)["version"] == 1           # refused: untouched
    history = api.get(f"/api/v1/instances/{at_draft}/history").get_json()
    migrated = [e for e in history if e["kind"] == "instance.migrated"]
    assert len(migrated) == 1 and migrated[0]["details"]["to_version"] == 2
    # the moved instance goes on in the new version: after draft comes reply2
    draft = api.open_task(at_draft, "draft")
    assert api.complete(draft["id"], as_user="inspector_cc").status_code == 200
    mine = api.get("/api/v1/tasks", as_user="contractor_gdjg").get_json()
    assert {(t["instance_id"], t["element_id"], t["name"]) for t in mine} >= {
        (at_draft, "reply2", "整改回复并上传照片")}

    # a second batch maps the renamed step: the two waiting at reply move to reply2
    r = api.post("/api/v1/migrations", as_user="admin",
                 json=body(dry_run=False, mapping={"reply": "reply2"}))
    assert r.status_code == 202
    second = r.get_json()["id"]
    wait_until(lambda: api.get(f"/api/v1/migrations/{second}").get_json()["state"] == "done",
               30, "the second batch")
    moved = api.instance(other)
    assert moved["version"] == 2
    tasks = api.get("/api/v1/tasks", as_user="contractor_gdjg").get_json()
    open_at = {t["instance_id"]: t for t in tasks}
    assert open_at[other]["element_id"] == "reply2"
    assert api.complete(open_at[other]["id"], {"measures": "已全部整改完毕", "accepted": True},
                        as_user="contractor_gdjg").status_code == 200
    assert api.instance(other)["state"] == "completed"
    listed = api.get("/api/v1/migrations", as_user="designer").get_json()
    assert [m["id"] for m in listed][:2] == [second, batch]


def test_who_may_migrate_and_bad_requests(api):
    start_three(api)
    assert api.post("/api/v1/migrations", as_user="inspector_cc", json=body()).status_code == 403
    assert api.get("/api/v1/migrations", as_user="contractor_gdjg").status_code == 403
    r = api.post("/api/v1/migrations", as_user="designer", json=body(mapping={"nope": "draft"}))
    assert r.status_code == 422 and "nope" in r.get_json()["errors"]
    r = api.post("/api/v1/migrations", as_user="designer",
                 json=body(mapping={"reply": "missing"}))
    assert r.status_code == 422
    r = api.post("/api/v1/migrations", as_user="designer", json=body(to_version=1))
    assert r.status_code == 422
    r = api.post("/api/v1/migrations", as_user="designer", json=body(to_version=9))
    assert r.status_code == 404
    assert api.get("/api/v1/migrations/999", as_user="designer").status_code == 404


def test_an_unfinished_batch_is_taken_up_again(api, engine):
    """A batch left running by a process that died: the background pass (or the resume
    endpoint) finishes it."""
    from processes import migrations

    start_three(api)
    batch = migrations.create(engine, "designer", "two_lanes", 1, 2, {"reply": "reply2"})
    assert batch["state"] == "running" and batch["counts"]["pending"] == 3
    assert migrations.unfinished(engine) == [batch["id"]]
    assert migrations.resume_unfinished(engine) == 1
    wait_until(lambda: migrations.progress(engine, batch["id"])["state"] == "done", 30,
               "the resumed batch")
    assert migrations.progress(engine, batch["id"])["counts"]["moved"] == 3
    r = api.post(f"/api/v1/migrations/{batch['id']}/resume", as_user="designer")
    assert r.status_code == 202 and r.get_json()["state"] == "done"     # nothing left to do
