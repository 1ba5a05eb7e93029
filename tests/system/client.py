"""The public HTTP API over a real socket, as a user's browser or a gateway calls it (stdlib
only: one keep-alive connection per client, so a client is used by one thread at a time)."""
from __future__ import annotations

import http.client
import json
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

DEMO_PASSWORD = "jianguan123"
IDLE_RECONNECT = 1.5          # seconds: below gunicorn's keep-alive timeout


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


class Client:
    def __init__(self, base_url: str, timeout: float = 30):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._tokens: dict[str, str] = {}
        self._used = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, user: str | None = None, json_body=None,
                body: bytes | None = None, headers: dict | None = None,
                query: dict | None = None) -> Reply:
        headers = dict(headers or {})
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        if query:
            path = f"{path}?{urlencode(query)}"
        if time.monotonic() - self._used > IDLE_RECONNECT:
            self.close()        # the server drops idle keep-alive connections (gunicorn: 2 s)
        # only a GET is sent again when the connection broke: a POST may have been applied
        for attempt in (1, 2) if method == "GET" else (2,):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self._used = time.monotonic()
                return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, user: str | None = "admin", **query) -> Reply:
        return self.request("GET", path, user, query=query or None)

    def post(self, path: str, user: str | None = "admin", json_body=None) -> Reply:
        return self.request("POST", path, user, json_body=json_body if json_body is not None
                            else {})

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        if username not in self._tokens:
            r = self.request("POST", "/api/v1/auth/token",
                             json_body={"username": username, "password": password})
            assert r.status == 200, (r.status, r.body[:500])
            self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    def ok(self, reply: Reply, *codes: int):
        assert reply.status in (codes or (200,)), (reply.status, reply.body[:2000])
        return reply.json()

    # -- the calls the scenarios make -------------------------------------------------------
    def instance(self, iid: str, user: str = "admin") -> dict:
        return self.ok(self.get(f"/api/v1/instances/{iid}", user))

    def open_task(self, iid: str, element: str, user: str = "admin") -> dict | None:
        return next((t for t in self.instance(iid, user)["tasks"]
                     if t["element_id"] == element), None)

    def complete(self, task_id: str, data: dict, user: str) -> dict:
        return self.ok(self.post(f"/api/v1/tasks/{task_id}/complete", user, {"data": data}))

    def multipart(self, path: str, user: str, field: str,
                  files: list[tuple[str, bytes, str]]) -> Reply:
        """POST files (name, content, content type) under one form field."""
        boundary = uuid.uuid4().hex
        body = b""
        for name, content, content_type in files:
            body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                     f"filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").encode()
            body += content + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        return self.request("POST", path, user, body=body,
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def upload(self, task_id: str, name: str, content: bytes, user: str,
               content_type: str = "image/png") -> str:
        r = self.multipart(f"/api/v1/tasks/{task_id}/attachments", user, "file",
                           [(name, content, content_type)])
        return self.ok(r, 201)["id"]

    def deploy(self, name: str, content: bytes, user: str = "designer") -> list:
        r = self.multipart("/api/v1/definitions", user, "files",
                           [(name, content, "application/xml")])
        return self.ok(r, 200, 201)
