"""A small client for the public API as a user would call it: sign in, then act."""
from __future__ import annotations

import base64
import io
import os
import re

from processes.demo import DEMO_PASSWORD

PLACEHOLDER = re.compile(r"^file-[\w.-]+$")
# a real 1x1 PNG
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
PROCESSES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine", "processes")


class ApiClient:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self._tokens: dict[str, str] = {}

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        if username not in self._tokens:
            r = self.client.post("/api/v1/auth/token",
                                 json={"username": username, "password": password})
            assert r.status_code == 200, r.get_json()
            self._tokens[username] = r.get_json()["token"]
        return self._tokens[username]

    def call(self, method: str, path: str, as_user: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if as_user:
            headers["Authorization"] = f"Bearer {self.token(as_user)}"
        response = self.client.open(path, method=method, headers=headers, **kw)
        if method.upper() == "DELETE" and path.rstrip("/") == "/api/v1/auth/token" and as_user:
            self._tokens.pop(as_user, None)          # revoked: the next call signs in again
        return response

    def get(self, path, as_user="admin", **kw):
        return self.call("GET", path, as_user, **kw)

    def post(self, path, as_user="admin", **kw):
        return self.call("POST", path, as_user, **kw)

    def deploy(self, *names: str, as_user: str = "designer", files=None):
        """Deploy test diagrams by file name from tests/engine/processes (or given bytes)."""
        payload = []
        for name in names:
            with open(os.path.join(PROCESSES, name), "rb") as fh:
                payload.append((io.BytesIO(fh.read()), name))
        for name, content in (files or {}).items():
            payload.append((io.BytesIO(content), name))
        return self.post("/api/v1/definitions", as_user=as_user, data={"files": payload},
                         content_type="multipart/form-data")

    def start(self, key, business_key=None, variables=None, as_user="admin", **kw):
        body = {"process_key": key, "business_key": business_key,
                "variables": variables or {}, **kw}
        return self.post("/api/v1/instances", as_user=as_user, json=body)

    def instance(self, instance_id, as_user="admin"):
        r = self.get(f"/api/v1/instances/{instance_id}", as_user=as_user)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def open_task(self, instance_id, element_id, as_user="admin"):
        tasks = [t for t in self.instance(instance_id, as_user)["tasks"]
                 if t["element_id"] == element_id]
        assert tasks, f"no open task {element_id}"
        return tasks[0]

    def complete(self, task_id, data=None, as_user="admin"):
        """Placeholders like "file-plan" in the data are uploaded first, as a user would before
        submitting the form, and replaced by the attachment ids the server returns."""
        data = self._upload_placeholders(task_id, data or {}, as_user)
        return self.post(f"/api/v1/tasks/{task_id}/complete", as_user=as_user,
                         json={"data": data})

    def upload(self, task_id, name: str, content: bytes = None, as_user="admin"):
        return self.post(f"/api/v1/tasks/{task_id}/attachments", as_user=as_user,
                         data={"file": (io.BytesIO(TINY_PNG if content is None else content), name)},
                         content_type="multipart/form-data")

    def _upload_placeholders(self, task_id, value, as_user):
        if isinstance(value, dict):
            return {k: self._upload_placeholders(task_id, v, as_user) for k, v in value.items()}
        if isinstance(value, list):
            return [self._upload_placeholders(task_id, v, as_user) for v in value]
        if isinstance(value, str) and PLACEHOLDER.match(value):
            r = self.upload(task_id, f"{value}.png", as_user=as_user)
            return r.get_json()["id"] if r.status_code == 201 else value
        return value

    def message(self, name, correlation=None, payload=None, message_id=None, as_user="gateway"):
        return self.post("/api/v1/messages", as_user=as_user, json={
            "name": name, "correlation": correlation or {}, "payload": payload,
            "message_id": message_id})
