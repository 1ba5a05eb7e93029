"""A real HTTP server on an ephemeral port, and Debian's Chromium, for the browser tests."""
from __future__ import annotations

import os
import shutil
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = os.environ.get("JIANGUAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENDOR = os.path.join(ROOT, "web", "static", "vendor")


def missing_prerequisites() -> str | None:
    """Why the browser tests cannot run here (make test installs both), or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} (make test installs Debian's chromium)"
    for name in ("bpmn-js/bpmn-navigated-viewer.production.min.js", "form-js/form-viewer.umd.js",
                 "bpmn-js-properties-panel/jg-properties-panel.min.js"):
        if not os.path.exists(os.path.join(VENDOR, name)):
            return f"web/static/vendor/{name} missing: run make assets"
    return None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:   # one line per request drowns the output
        pass


class LiveServer:
    """create_app on its own SQLite file with the demo loaded, served by werkzeug in a thread."""

    def __init__(self, db_template, workdir):
        from app import create_app
        from processes.demo import load
        from tests.conftest import run_jobs_at_once

        path = os.path.join(workdir, "ui.db")
        shutil.copy(db_template, path)
        self.app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "ui-test-secret",
                               "VAR_DIR": os.path.join(workdir, "var"), "TESTING": True})
        self.engine = self.app.extensions["jianguan.engine"]
        # document gates are asynchronous: run them at once, as the conftest does
        self.engine.wake = run_jobs_at_once(self.engine)
        load(self.engine, echo=lambda *a, **k: None)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                  request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.engine.close()
