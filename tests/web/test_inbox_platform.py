"""The inbox as a task platform: search, sort, due range, 已办, saved filters, the refresh
poll (ETag/304), assign and delegate to a colleague, comments kept in history."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from engine.schema import tasks
from processes.people import create_user
from tests.engine.test_tasks_api import started

CHINA = timezone(timedelta(hours=8))


def inbox(api, user: str, query: str = "") -> list[dict]:
    r = api.get(f"/api/v1/tasks?page_size=50{query}", as_user=user)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def task_of(api, iid: str, user: str = "inspector_cc") -> dict:
    return next(t for t in inbox(api, user) if t["instance_id"] == iid)


def colleague(engine, name="inspector_cc2", district="禅城区"):
    with engine.db.write() as conn:
        create_user(conn, name, "inspector", "secret-123", district, None, "王监督(禅城)")


def test_search_sort_and_due_range(api, engine):
    ours = [started(api) for _ in range(3)]
    other = started(api, "FS-CC-2026-002")
    due = [datetime(2026, 12, d, 9, tzinfo=CHINA) for d in (10, 5, 20)]
    with engine.db.write() as conn:
        for iid, at in zip(ours, due):
            conn.execute(update(tasks).where(tasks.c.instance_id == iid).values(due_at=at))
    project = {t["instance_id"] for t in inbox(api, "inspector_cc", "&q=FS-CC-2026-002")}
    assert project == {other}
    # the process's name and the task's name find them too; nothing matches nonsense
    assert {t["instance_id"] for t in inbox(api, "inspector_cc", "&q=两岗")} >= {*ours, other}
    assert len(inbox(api, "inspector_cc", "&q=起草")) == 4
    assert inbox(api, "inspector_cc", "&q=%25%25") == []
    by_due = [t["instance_id"] for t in inbox(api, "inspector_cc", "&sort=due&order=desc")]
    assert [i for i in by_due if i in ours] == [ours[2], ours[0], ours[1]]
    ranged = inbox(api, "inspector_cc", "&due_from=2026-12-05&due_to=2026-12-10")
    assert {t["instance_id"] for t in ranged} == {ours[0], ours[1]}
    r = api.get("/api/v1/tasks?due_from=2026-12-10&due_to=2026-12-01", as_user="inspector_cc")
    assert r.status_code == 422 and "期限止" in json.dumps(r.get_json(), ensure_ascii=False)
    assert api.get("/api/v1/tasks?sort=nonsense", as_user="inspector_cc").status_code == 422


def test_done_view_lists_what_i_completed(api):
    iid = started(api)
    task = task_of(api, iid)
    assert api.complete(task["id"], {}, as_user="inspector_cc").status_code == 200
    done = inbox(api, "inspector_cc", "&view=done")
    assert [t["id"] for t in done] == [task["id"]] and done[0]["ended_at"]
    assert task["id"] not in {t["id"] for t in inbox(api, "inspector_cc")}
    assert inbox(api, "inspector_nh", "&view=done") == []


def test_saved_filters_are_per_user(api):
    body = {"filters": [{"name": "逾期的", "query": {"overdue": "true"}},
                        {"name": "禅城一号", "query": {"q": "FS-CC-2026-001"}}]}
    r = api.call("PUT", "/api/v1/tasks/filters", "inspector_cc", json=body)
    assert r.status_code == 200, r.get_json()
    got = api.get("/api/v1/tasks/filters", as_user="inspector_cc").get_json()["filters"]
    assert [f["name"] for f in got] == ["禅城一号", "逾期的"]
    assert api.get("/api/v1/tasks/filters", as_user="inspector_nh").get_json()["filters"] == []
    dup = {"filters": [{"name": "a", "query": {}}, {"name": "a", "query": {}}]}
    r = api.call("PUT", "/api/v1/tasks/filters", "inspector_cc", json=dup)
    assert r.status_code == 422 and "重复" in r.get_json()["message"]


def test_summary_answers_304_until_a_task_arrives(api):
    r = api.get("/api/v1/tasks/summary", as_user="inspector_cc")
    assert r.status_code == 200 and r.get_json()["total"] == 0
    etag = r.headers["ETag"]
    again = api.get("/api/v1/tasks/summary", as_user="inspector_cc",
                    headers={"If-None-Match": etag})
    assert again.status_code == 304
    started(api)
    changed = api.get("/api/v1/tasks/summary", as_user="inspector_cc",
                      headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["total"] == 1


def test_assign_and_delegate_to_a_colleague_only(api, engine):
    colleague(engine)
    colleague(engine, "inspector_nh2", "南海区")
    api.token("inspector_cc2", "secret-123")
    iid = started(api)
    task = task_of(api, iid)
    path = f"/api/v1/tasks/{task['id']}"
    names = [c["username"] for c in api.get(f"{path}/colleagues", as_user="inspector_cc")
             .get_json()]
    assert names == ["inspector_cc2"]
    # another district's inspector, another role, nobody: refused in Chinese
    for to, status in (("inspector_nh2", 403), ("contractor_gdjg", 403), ("nobody", 422)):
        r = api.post(f"{path}/assign", as_user="inspector_cc", json={"to": to})
        assert r.status_code == status, r.get_json()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.get_json()["message"])
    # delegating needs the task claimed first
    r = api.post(f"{path}/delegate", as_user="inspector_cc", json={"to": "inspector_cc2"})
    assert r.status_code == 409
    assert api.post(f"{path}/claim", as_user="inspector_cc").status_code == 200
    r = api.post(f"{path}/delegate", as_user="inspector_cc",
                 json={"to": "inspector_cc2", "note": "请代为处理"})
    assert r.status_code == 200 and r.get_json()["assignee"] == "inspector_cc2"
    mine = inbox(api, "inspector_cc2", "&assignee=me")
    assert [t["id"] for t in mine] == [task["id"]]
    # no longer his: the first inspector cannot hand it on again
    r = api.post(f"{path}/assign", as_user="inspector_cc", json={"to": "inspector_cc"})
    assert r.status_code == 409
    history = api.get(f"/api/v1/instances/{iid}/history", as_user="admin").get_json()
    delegated = [e for e in history if e["kind"] == "task.delegated"]
    assert delegated and delegated[0]["details"]["owner"] == "inspector_cc"
    note = api.get("/api/v1/notifications", as_user="inspector_cc2").get_json()
    assert note["unread"] >= 1 and "委托" in note["items"][0]["title"]


def test_comments_on_task_and_instance_are_in_history_and_scoped(api):
    iid = started(api)
    task = task_of(api, iid)
    r = api.post(f"/api/v1/tasks/{task['id']}/comments", as_user="inspector_cc",
                 json={"body": "  请施工单位尽快整改  "})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["body"] == "请施工单位尽快整改"
    r = api.post(f"/api/v1/instances/{iid}/comments", as_user="contractor_gdjg",
                 json={"body": "收到"})
    assert r.status_code == 201, r.get_json()
    assert api.post(f"/api/v1/instances/{iid}/comments", as_user="contractor_gdjg",
                    json={"body": "   "}).status_code == 422
    listed = api.get(f"/api/v1/instances/{iid}/comments", as_user="inspector_cc").get_json()
    assert [(c["author_name"], c["body"]) for c in listed] == [
        ("张监督(禅城)", "请施工单位尽快整改"), ("广东建工项目部", "收到")]
    # another district, another contractor: refused
    assert api.get(f"/api/v1/instances/{iid}/comments", as_user="inspector_nh").status_code == 403
    assert api.post(f"/api/v1/tasks/{task['id']}/comments", as_user="contractor_gz2",
                    json={"body": "x"}).status_code == 403
    history = api.get(f"/api/v1/instances/{iid}/history", as_user="admin").get_json()
    assert [e["details"]["body"] for e in history if e["kind"] == "comment.added"] == [
        "请施工单位尽快整改", "收到"]
    # the first commenter hears of the reply
    note = api.get("/api/v1/notifications", as_user="inspector_cc").get_json()
    assert note["items"][0]["kind"] == "comment" and "收到" in note["items"][0]["title"]
