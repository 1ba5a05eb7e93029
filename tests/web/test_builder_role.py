"""建设单位 (builder) is a role of its own: shown as such, scoped to the projects its
enterprise builds, working the 建设单位 lanes and no longer the contractor's."""
from __future__ import annotations

from sqlalchemy import select, update

from engine.schema import tasks
from processes.demo import PROJECTS
from tests.processes.test_rectification import NOTICE
from tests.processes.test_rectification import start as start_rectification
from tests.processes.test_supervision_briefing import CONFIRM
from tests.processes.test_supervision_briefing import start as start_briefing
from tests.processes.test_supervision_briefing import to_meeting
from tests.processes.test_warning_talk import P1, finish
from tests.ui.test_session import sign_in


def test_the_builder_signs_in_as_builder_and_is_shown_as_建设单位(api, app):
    token = api.post("/api/v1/auth/token", as_user=None,
                     json={"username": "builder_fscj", "password": "jianguan123"}).get_json()
    assert token["role"] == "builder"
    client = app.test_client()
    assert sign_in(client, "builder_fscj") == "/inbox"
    page = client.get("/inbox").get_data(as_text=True)
    assert "建设单位" in page and "施工单位" not in page
    codes = {p["code"] for p in api.get("/api/v1/projects?page_size=100",
                                        as_user="builder_fscj").get_json()}
    assert codes == {p[0] for p in PROJECTS if p[6] == "91440600BLD001"}     # what it builds
    assert "FS-CC-2026-001" in codes and "FS-NH-2026-001" not in codes


def test_the_builder_cannot_reply_to_a_notice_addressed_to_the_contractor(api, engine):
    iid = start_rectification(api)
    finish(api, iid, "rect_notice", "inspector_cc", NOTICE)
    reply = api.open_task(iid, "rect_reply")
    assert reply["role"] == "contractor"
    assert api.get("/api/v1/tasks?page_size=100", as_user="builder_fscj").get_json() == []
    refused = api.post(f"/api/v1/tasks/{reply['id']}/complete", as_user="builder_fscj",
                       json={"data": {}})
    assert refused.status_code == 403
    # it may still read what happens on its project
    assert api.get(f"/api/v1/tasks/{reply['id']}", as_user="builder_fscj").get_json()[
        "can_act"] is False
    assert [t["id"] for t in api.get("/api/v1/tasks", as_user="contractor_gdjg").get_json()] \
        == [reply["id"]]


def test_the_建设单位_lane_is_the_builders_and_setup_moves_old_tasks_to_it(api, engine):
    iid = start_briefing(api)
    to_meeting(api, engine, iid)
    confirm = api.open_task(iid, "confirm_builder")
    assert confirm["role"] == "builder"
    assert api.post(f"/api/v1/tasks/{confirm['id']}/complete", as_user="contractor_gdjg",
                    json={"data": CONFIRM}).status_code == 403
    # a task an earlier version gave the contractor role: `flask setup` gives it back
    with engine.db.write() as conn:
        conn.execute(update(tasks).where(tasks.c.id == confirm["id"]).values(role="contractor"))
    r = api.app.test_cli_runner().invoke(args=["setup"])
    assert r.exit_code == 0, r.output
    with engine.db.read() as conn:
        assert conn.execute(select(tasks.c.role).where(
            tasks.c.id == confirm["id"])).scalar() == "builder"
    finish(api, iid, "confirm_builder", "builder_fscj", CONFIRM)
    assert P1 in api.get(f"/api/v1/instances/{iid}", as_user="builder_fscj").get_json()[
        "business_key"]


def test_flask_policy_lists_what_the_builder_may_do(app):
    out = app.test_cli_runner().invoke(args=["policy"])
    assert out.exit_code == 0, out.output
    (line,) = [row for row in out.output.splitlines() if row.startswith("builder ")]
    assert line.startswith("builder 建设单位 [enterprise]:")
    assert "task.complete" in line.split() and "instance.cancel" not in line.split()
