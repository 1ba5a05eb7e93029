"""Browser sign-in without a browser: the session cookie, CSRF on cookie-authenticated API
calls, Bearer tokens unchanged, server-side access checks of the pages, Chinese error pages."""
from __future__ import annotations

import re

import pytest

from processes.demo import DEMO_PASSWORD

RECT_REPLY = "rect_reply"


def login_form_token(client, path="/login") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def sign_in(client, username: str, next_path: str = "") -> str:
    token = login_form_token(client)
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                    "csrf_token": token, "next": next_path})
    assert r.status_code == 302, r.get_data(as_text=True)
    return r.location


def page_csrf(client) -> str:
    html = client.get("/inbox").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture
def rectification(api):
    """A rectification of 禅城 project FS-CC-2026-001 waiting for contractor_gdjg's reply."""
    from processes.bundled import deploy_bundled
    deploy_bundled(api.app.extensions["jianguan.engine"], actor="test")
    r = api.start("rectification", "FS-CC-2026-001", as_user="inspector_cc")
    assert r.status_code == 201, r.get_json()
    instance = r.get_json()
    notice = api.open_task(instance["id"], "rect_notice", as_user="inspector_cc")
    r = api.complete(notice["id"], {"rect_location": "2号楼", "rect_issue": "临边防护缺失",
                                    "rect_requirement": "补设防护栏杆",
                                    "deadline": "2030-01-10", "stop_work": False},
                     as_user="inspector_cc")
    assert r.status_code == 200, r.get_json()
    reply = api.open_task(instance["id"], RECT_REPLY, as_user="contractor_gdjg")
    return {"instance": instance["id"], "reply": reply["id"]}


def test_sign_in_sets_an_httponly_lax_session_cookie(app):
    client = app.test_client()
    assert client.get("/").location.endswith("/login")
    assert client.get("/inbox").location.startswith("/login?next=/inbox")
    token = login_form_token(client)
    r = client.post("/login", data={"username": "inspector_cc", "password": DEMO_PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 302 and r.location == "/inbox"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("jianguan_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/v1/tasks").status_code == 200


@pytest.mark.parametrize("username,home", [("designer", "/designer"), ("leader", "/dashboard"),
                                           ("auditor", "/audit"), ("contractor_gdjg", "/inbox"),
                                           ("admin", "/inbox"), ("expert01", "/inbox")])
def test_home_sends_each_role_to_its_work(app, username, home):
    client = app.test_client()
    assert sign_in(client, username) == home
    assert client.get("/").location == home


def test_sign_in_refuses_bad_password_missing_csrf_and_foreign_next(app):
    client = app.test_client()
    token = login_form_token(client)
    r = client.post("/login", data={"username": "inspector_cc", "password": "wrong",
                                    "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    r = client.post("/login", data={"username": "inspector_cc", "password": DEMO_PASSWORD})
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    assert client.get("/api/v1/tasks").status_code == 401
    assert sign_in(client, "inspector_cc", "//evil.example/x") == "/inbox"
    client = app.test_client()
    assert sign_in(client, "inspector_cc", "/instances?state=running") == "/instances?state=running"
    client = app.test_client()
    r = client.post("/login", data={"username": "gateway", "password": DEMO_PASSWORD,
                                    "csrf_token": login_form_token(client)})
    assert r.status_code == 403 and "网关" in r.get_data(as_text=True)


def test_cookie_api_calls_need_the_csrf_header_for_unsafe_methods(app, rectification):
    client = app.test_client()
    sign_in(client, "contractor_gdjg")
    task = rectification["reply"]
    r = client.post(f"/api/v1/tasks/{task}/claim")
    assert r.status_code == 403
    assert "CSRF" in r.get_json()["message"] and r.get_json()["code"] == 403
    r = client.post(f"/api/v1/tasks/{task}/claim", headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/tasks/{task}/claim", headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 200 and r.get_json()["assignee"] == "contractor_gdjg"
    # reading needs no token
    assert client.get(f"/api/v1/tasks/{task}").status_code == 200


def test_bearer_calls_work_as_before_without_csrf(api, rectification):
    r = api.post(f"/api/v1/tasks/{rectification['reply']}/claim", as_user="contractor_gdjg")
    assert r.status_code == 200
    assert api.client.get("/api/v1/tasks").status_code == 401
    r = api.client.get("/api/v1/tasks", headers={"Authorization": "Token x"})
    assert r.status_code == 401


def test_drafts_through_the_session(app, rectification):
    client = app.test_client()
    sign_in(client, "contractor_gdjg")
    task = rectification["reply"]
    r = client.post(f"/api/v1/tasks/{task}/draft", json={"data": {"rect_measures": "已补设"}},
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 200, r.get_json()
    assert client.get(f"/api/v1/tasks/{task}").get_json()["draft"]["rect_measures"] == "已补设"


def test_sign_out_needs_the_token_and_ends_the_session(app):
    client = app.test_client()
    sign_in(client, "inspector_cc")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    r = client.post("/logout", data={"csrf_token": page_csrf(client)})
    assert r.status_code == 302 and r.location == "/login"
    assert client.get("/api/v1/tasks").status_code == 401


def test_pages_check_access_server_side(app, rectification):
    client = app.test_client()
    sign_in(client, "contractor_zj3")         # another enterprise than the project's contractor
    r = client.get(f"/tasks/{rectification['reply']}")
    assert r.status_code == 403 and "无权" in r.get_data(as_text=True)
    assert r.content_type.startswith("text/html")
    r = client.get(f"/instances/{rectification['instance']}")
    assert r.status_code == 403
    assert client.get("/tasks/no-such-task").status_code == 404
    assert client.get("/instances/no-such-instance").status_code == 404
    assert client.get(f"/api/v1/tasks/{rectification['reply']}").status_code == 403
    own = app.test_client()
    sign_in(own, "contractor_gdjg")
    assert own.get(f"/tasks/{rectification['reply']}").status_code == 200
    assert own.get(f"/instances/{rectification['instance']}").status_code == 200


def test_error_pages_are_chinese_html_and_api_errors_stay_json(app):
    client = app.test_client()
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.content_type.startswith("text/html")
    assert "页面不存在" in r.get_data(as_text=True)
    r = client.get("/api/v1/no-such-thing")        # 401 comes first under /api/v1
    assert r.status_code == 401 and r.get_json()["code"] == 401
    r = client.get("/api/no-such-thing")
    assert r.status_code == 404 and r.get_json()["code"] == 404
    r = client.post("/inbox")
    assert r.status_code == 405 and "不支持" in r.get_data(as_text=True)


def test_an_unexpected_error_on_a_page_is_a_chinese_500(app):
    @app.get("/boom-for-test")
    def _boom():
        raise RuntimeError("boom")
    r = app.test_client().get("/boom-for-test")
    assert r.status_code == 500 and "服务器出错了" in r.get_data(as_text=True)
    assert "boom" not in r.get_data(as_text=True)
