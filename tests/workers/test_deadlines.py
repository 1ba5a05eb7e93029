"""A deadline the inspector sets in the rectification notice form drives the reply task's
interrupting boundary timer (timeDate from the form variable): the stored timer, the task's
due_at and the moment it fires all follow the date chosen in the form."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from engine.clock import clock
from engine.schema import timers
from engine.timers import fire_due
from tests.processes.test_rectification import NOTICE, start
from tests.processes.test_warning_talk import finish, open_elements
from tests.workers.helpers import aware


def test_the_deadline_chosen_in_the_form_is_the_timer(api, engine):
    iid = start(api)
    finish(api, iid, "rect_notice", "inspector_cc", {**NOTICE, "deadline": "2026-12-09"})
    deadline = datetime(2026, 12, 9, 15, 59, 59, tzinfo=timezone.utc)   # 23:59:59 +08:00
    with engine.db.read() as conn:
        due = {r.element_id: aware(r.due_at) for r in conn.execute(
            select(timers).where(timers.c.instance_id == iid))}
    # the overdue boundary at the chosen date's end, a reminder the day before (09:00 +08:00)
    assert due == {"overdue": deadline,
                   "reminder": datetime(2026, 12, 8, 1, 0, tzinfo=timezone.utc)}
    assert api.open_task(iid, "rect_reply", "contractor_gdjg")["due_at"].startswith(
        "2026-12-09T15:59:59")
    clock.freeze(deadline - timedelta(seconds=1))
    assert fire_due(engine) == 1                             # the reminder only
    assert open_elements(api, iid) == ["rect_reply"]        # not before the chosen deadline
    clock.freeze(deadline + timedelta(seconds=1))
    assert fire_due(engine) == 1                             # the deadline
    assert open_elements(api, iid) == ["talk_propose"]      # it interrupted the reply
