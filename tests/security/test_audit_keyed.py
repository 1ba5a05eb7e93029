"""Issue 15, item 12: someone with the database in hand (triggers dropped) cannot rewrite the
audit trail, replace an issued PDF, or cut the tail after a checkpoint without `flask
verify-audit` saying so; the key and the checkpoints live outside the database."""
from __future__ import annotations

import hashlib
import json
import os

from sqlalchemy import select, text, update

from engine import audit, audit_anchor
from engine.schema import audit_events, audit_head
from integrations.scheduler import TimerThread
from processes.schema import document_files, documents
from tests.documents.helpers import deploy, issue

PROJECT = "FS-CC-2026-001"


def _unprotect(conn, db_kind: str, table: str) -> None:
    if db_kind == "sqlite":
        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
    else:
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def _protect(conn, db_kind: str, table: str) -> None:
    if db_kind != "sqlite":          # the schema outlives this test
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def some_events(api, n: int = 3) -> None:
    api.deploy("two_lanes.bpmn")
    for _ in range(n):
        r = api.start("two_lanes", PROJECT, {"project_code": PROJECT})
        assert r.status_code == 201, r.get_json()


def verify(app):
    return app.test_cli_runner().invoke(args=["verify-audit"])


def rewrite_plain(engine, db_kind: str, edit_seq: int) -> None:
    """What an attacker without the key can do: edit an event, recompute every hash after it
    as the chain used to be computed (plain SHA-256), and move the head along."""
    with engine.db.write() as conn:
        _unprotect(conn, db_kind, "audit_events")
        conn.execute(update(audit_events).where(audit_events.c.seq == edit_seq)
                     .values(actor="mallory"))
        prev = audit.GENESIS
        for row in conn.execute(select(audit_events).order_by(audit_events.c.seq)).all():
            digest = audit.event_hash(prev, row.seq, row.at, row.actor, row.kind,
                                      row.instance_id, row.task_id, row.details)
            conn.execute(update(audit_events).where(audit_events.c.seq == row.seq)
                         .values(prev_hash=prev, hash=digest))
            prev, last = digest, row.seq
        conn.execute(update(audit_head).values(seq=last, hash=prev))
        _protect(conn, db_kind, "audit_events")


def test_a_chain_recomputed_without_the_key_is_detected(app, api, engine, db_kind):
    some_events(api)
    assert verify(app).exit_code == 0
    rewrite_plain(engine, db_kind, edit_seq=2)
    bad = verify(app)
    assert bad.exit_code == 1, bad.output
    assert "序号 1" in bad.output and "审计密钥" in bad.output, bad.output
    r = api.get("/api/v1/audit/verify", as_user="auditor").get_json()
    assert r["ok"] is False and r["first_bad_seq"] == 1


def test_a_replaced_pdf_with_its_sha256_column_is_detected(app, api, engine, db_kind):
    deploy(api)
    _, doc = issue(api, engine, "talk_notice", {"talk_summoned": "项目负责人周某"})
    assert verify(app).exit_code == 0
    forged = b"%PDF-1.7 forged"
    digest = hashlib.sha256(forged).hexdigest()
    with engine.db.write() as conn:
        _unprotect(conn, db_kind, "document_files")
        conn.execute(update(document_files).where(document_files.c.document_id == doc["id"])
                     .values(pdf=forged, size=len(forged)))
        conn.execute(update(documents).where(documents.c.id == doc["id"]).values(sha256=digest))
        _protect(conn, db_kind, "document_files")
    assert api.get(f"/api/v1/documents/{doc['id']}").get_data() == forged   # served as is...
    bad = verify(app)                                                          # ...but seen
    assert bad.exit_code == 1, bad.output
    assert doc["number"] in bad.output and "SHA-256" in bad.output, bad.output


def test_the_tail_cut_after_a_checkpoint_is_detected(app, api, engine, db_kind):
    some_events(api, 4)
    runner = app.test_cli_runner()
    written = runner.invoke(args=["anchor-audit"])
    assert written.exit_code == 0 and "已写入检查点" in written.output, written.output
    with engine.db.read() as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    keep = head.seq - 2
    with engine.db.write() as conn:                 # cut the tail and move the head back
        _unprotect(conn, db_kind, "audit_events")
        conn.execute(audit_events.delete().where(audit_events.c.seq > keep))
        kept = conn.execute(select(audit_events.c.hash).where(audit_events.c.seq == keep)
                            ).scalar()
        conn.execute(update(audit_head).values(seq=keep, hash=kept))
        _protect(conn, db_kind, "audit_events")
    bad = verify(app)
    assert bad.exit_code == 1, bad.output
    assert f"序号 {keep + 1}" in bad.output and "链尾被截断" in bad.output, bad.output


def test_a_forged_checkpoint_is_refused(app, api, engine):
    some_events(api, 1)
    settings = app.extensions["jianguan.settings"]
    with engine.db.read() as conn:
        checkpoint = audit_anchor.write(conn, settings.anchor_dir, engine.audit_key)
    assert checkpoint is not None and os.path.dirname(checkpoint.path) == settings.anchor_dir
    with open(checkpoint.path, encoding="utf-8") as fh:
        data = json.load(fh)
    data["seq"] = 1                                  # an attacker's earlier head, re-signed
    data["signature"] = hashlib.sha256(b"guess").hexdigest()
    with open(os.path.join(settings.anchor_dir, "checkpoint-999999999999.json"), "w",
              encoding="utf-8") as fh:
        json.dump(data, fh)
    bad = verify(app)
    assert bad.exit_code == 1 and "签名无效" in bad.output, bad.output


def test_the_scheduler_writes_checkpoints(app, api, engine):
    some_events(api, 1)
    settings = app.extensions["jianguan.settings"]
    anchor = audit_anchor.Anchorer(settings.anchor_dir, engine.audit_key, interval=3600)
    TimerThread(engine, jobs=(anchor,)).tick()
    newest = audit_anchor.latest(settings.anchor_dir, engine.audit_key)
    with engine.db.read() as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    assert (newest.seq, newest.hash) == (head.seq, head.hash)
    assert verify(app).exit_code == 0


def test_events_of_an_older_database_stay_verifiable_once_sealed(app, api, engine, db_kind):
    """A database from before the key: its plain events verify once `flask setup` has sealed
    them with the first keyed event; a plain event after that is refused."""
    with engine.db.write() as conn:
        prev = audit.GENESIS
        conn.execute(audit_head.insert().values(id=1, seq=0, hash=prev, keyed=False))
        for seq in (1, 2):
            at = engine_now()
            details = {"n": seq}
            digest = audit.event_hash(prev, seq, at, "old", "old.event", None, None, details)
            conn.execute(audit_events.insert().values(
                seq=seq, at=at, actor="old", kind="old.event", details=details,
                prev_hash=prev, hash=digest))
            prev = digest
        conn.execute(update(audit_head).values(seq=2, hash=prev))
    assert verify(app).exit_code == 1                  # not sealed yet: say so
    with engine.db.write() as conn:
        audit.append(conn, [], engine.audit_key, seal=True)
    some_events(api, 1)
    ok = verify(app)
    assert ok.exit_code == 0, ok.output
    with engine.db.read() as conn:
        seal = conn.execute(select(audit_events).where(audit_events.c.seq == 3)).first()
    assert seal.kind == audit.KEYED and seal.details["legacy_until"] == 2


def engine_now():
    from engine.clock import utcnow
    return utcnow()


def test_the_chain_verifies_only_under_its_own_key(app, api, engine):
    some_events(api, 1)
    with engine.db.read() as conn:
        assert audit.verify(conn, engine.audit_key)[1] is None
        checked, broken = audit.verify(conn, b"another installation's key")
    assert checked == 0 and broken.seq == 1
    assert engine.audit_key == app.extensions["jianguan.settings"].audit_secret


def test_a_production_start_without_an_audit_key_warns(tmp_path, caplog):
    from app import create_app

    with caplog.at_level("WARNING"):
        application = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
                                  "SECRET_KEY": "s", "VAR_DIR": str(tmp_path)})
    application.extensions["jianguan.engine"].close()
    assert any("JIANGUAN_AUDIT_KEY" in r.getMessage() for r in caplog.records)
    keyed = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/k.db", "SECRET_KEY": "s",
                        "VAR_DIR": str(tmp_path), "JIANGUAN_AUDIT_KEY": "k" * 32})
    keyed.extensions["jianguan.engine"].close()
    assert keyed.extensions["jianguan.engine"].audit_key == b"k" * 32


def test_celery_beat_writes_checkpoints(tmp_path, sqlite_template):
    import shutil

    from app import create_app

    shutil.copy(sqlite_template, tmp_path / "c.db")
    application = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "SECRET_KEY": "s",
                              "VAR_DIR": str(tmp_path), "TESTING": True,
                              "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
                              "JIANGUAN_AUDIT_ANCHOR_INTERVAL": "600"})
    engine = application.extensions["jianguan.engine"]
    try:
        with engine.unit("system:test") as unit:
            unit.record("test.event", note="anchored by beat")
        celery = application.extensions["jianguan.celery"]
        assert celery.conf.beat_schedule["audit-anchor"]["schedule"] == 600.0
        seq = celery.tasks["jianguan.anchor_audit"]()           # what beat sends, run here
        settings = application.extensions["jianguan.settings"]
        assert audit_anchor.latest(settings.anchor_dir, engine.audit_key).seq == seq == 1
        assert settings.anchor_dir == os.path.join(str(tmp_path), "audit-anchors")
    finally:
        engine.close()
