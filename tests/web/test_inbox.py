"""The inbox over several projects: each project's tasks are read in due order and merged
(processes/inbox.py); the merged pages must be exactly the one sorted list, page after page."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import update

from engine.clock import clock
from engine.schema import tasks
from processes.people import create_user
from tests.engine.test_tasks_api import started

CHANCHENG = ("FS-CC-2026-001", "FS-CC-2026-002", "FS-CC-2026-003")
NANHAI = "FS-NH-2026-002"
BASE = datetime(2026, 12, 1, tzinfo=timezone.utc)


def pages(api, user: str, query: str = "", size: int = 3) -> tuple[list[str], int]:
    ids, page, total = [], 1, None
    while True:
        r = api.get(f"/api/v1/tasks?page_size={size}&page={page}{query}", as_user=user)
        assert r.status_code == 200, r.get_json()
        meta = json.loads(r.headers["X-Pagination"])
        total = meta["total"]
        ids += [t["id"] for t in r.get_json()]
        if page >= meta.get("last_page", 0):
            return ids, total
        page += 1


def test_a_district_inbox_is_one_sorted_list_across_its_projects(api, engine):
    iids = [started(api, code) for code in CHANCHENG for _ in range(3)]
    iids.append(api.start("two_lanes", None, {}, as_user="admin").get_json()["id"])
    started(api, NANHAI)
    # due times that interleave the projects, with ties (then creation time and id decide)
    # and tasks with no due time (last)
    with engine.db.write() as conn:
        for n, iid in enumerate(iids):
            due = None if n % 4 == 3 else BASE + timedelta(hours=(n * 5) % 7)
            conn.execute(update(tasks).where(tasks.c.instance_id == iid).values(due_at=due))
        rows = conn.execute(tasks.select().where(tasks.c.instance_id.in_(iids),
                                                 tasks.c.state == "open")).all()
    expected = [r.id for r in sorted(rows, key=lambda r: (
        r.due_at is None, r.due_at or BASE, r.created_at, r.id))]

    ids, total = pages(api, "inspector_cc", size=2)
    assert ids == expected and total == len(expected) == 10

    # the same list as a city-wide inspector's district filter (one plain query), but for
    # the task of no project, which only district staff act on
    with engine.db.write() as conn:
        create_user(conn, "inspector_city", "inspector", "secret-123", None, None, "全市监督员")
    api.token("inspector_city", "secret-123")
    city, city_total = pages(api, "inspector_city", "&district=禅城区", size=4)
    no_project = {r.id for r in rows if r.scope_key is None}
    assert city == [i for i in expected if i not in no_project] and city_total == 9
    # filters apply within every project's range: at 03:00 the tasks due before are overdue
    clock.freeze(BASE + timedelta(hours=3))
    due = {r.id: r.due_at and r.due_at.replace(tzinfo=timezone.utc) for r in rows}
    overdue, overdue_total = pages(api, "inspector_cc", "&overdue=true")
    assert overdue == [i for i in expected if due[i] and due[i] < BASE + timedelta(hours=3)]
    assert 0 < overdue_total == len(overdue) < len(expected)
