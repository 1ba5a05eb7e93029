"""Issue 15, item 13: the API's own OpenAPI description, fuzzed by schemathesis against the app
(WSGI, SQLite, a real admin token): no answer is a 500, and every answer has the shape and the
headers (X-Pagination) the description gives. A bounded number of examples per operation keeps
it to a couple of minutes; the examples are derived from a fixed seed, so a failure repeats."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from sqlalchemy import select

from processes.demo import DEMO_PASSWORD, load_reference
from processes.schema import documents
from tests.apiclient import ApiClient
from tests.conftest import run_jobs_at_once
from tests.documents.helpers import deploy, issue

PROJECT = "FS-CC-2026-001"

EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory, sqlite_template):
    import shutil
    import uuid

    from app import create_app
    from engine.clock import clock

    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"{uuid.uuid4().hex}.db"
    shutil.copy(sqlite_template, path)
    application = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "fuzz-secret",
                              "VAR_DIR": str(folder / "var"), "TESTING": True,
                              "ENGINE": {"script_time_limit": 1.0}})
    engine = application.extensions["jianguan.engine"]
    engine.wake = run_jobs_at_once(engine)
    with engine.unit("system:test") as unit:
        load_reference(unit.conn)
    yield application
    engine.close()
    clock.reset()


@pytest.fixture(scope="module")
def real_ids(fuzzed_app) -> dict:
    """Objects that exist, so the fuzzed requests reach past the 404 of a random id: an
    instance with an open task and an attachment, an issued document, a definition."""
    api = ApiClient(fuzzed_app)
    deploy(api)
    assert api.deploy("two_lanes.bpmn").status_code == 201
    r = api.start("two_lanes", PROJECT, {"project_code": PROJECT})
    instance_id = r.get_json()["id"]
    task_id = api.open_task(instance_id, "draft")["id"]
    attachment = api.upload(task_id, "现场.png").get_json()["id"]
    engine = fuzzed_app.extensions["jianguan.engine"]
    _, doc = issue(api, engine, "talk_notice", {"talk_summoned": "项目负责人周某"})
    with engine.db.read() as conn:
        code = conn.execute(select(documents.c.verify_code).where(
            documents.c.id == doc["id"])).scalar()
    return {"instance_id": instance_id, "task_id": task_id, "document_id": doc["id"],
            "attachment_id": attachment, "key": "two_lanes", "code": code}


@pytest.fixture(scope="module")
def token(fuzzed_app) -> str:
    r = fuzzed_app.test_client().post("/api/v1/auth/token",
                                      json={"username": "admin", "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def test_the_api_answers_fuzzed_requests_as_it_describes(fuzzed_app, token, real_ids):
    # each operation in turn (schemathesis's pytest plugin does not run on this pytest), every
    # failure collected so one run names them all
    api_schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzzed_app)
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            if case.path_parameters:
                case.path_parameters = {k: real_ids.get(k, v)
                                        for k, v in case.path_parameters.items()}
            headers = dict(case.headers or {})
            headers["Authorization"] = f"Bearer {token}"     # the real token, not a fuzzed one
            try:
                case.call_and_validate(headers=headers,
                                       checks=[not_a_server_error, response_schema_conformance])
            except Exception as exc:                  # noqa: BLE001 - reported below
                failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")
                raise

        try:
            run()
        except Exception:                              # noqa: BLE001 - collected above
            pass
    assert operations > 30
    assert failures == [], "\n\n".join(dict.fromkeys(failures))
