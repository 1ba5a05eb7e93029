"""Operations commands for the separate-process topology (docs/deployment.md):

- `flask --app app health --kind web|worker|beat|listener`: exit 0 when that kind of process
  is alive (see integrations/health.py for what each kind means), else exit 1 with the reason.
- `flask --app app create-database`: create the PostgreSQL database DATABASE_URL names when it
  is missing (run before `setup`; a no-op on SQLite, whose file `setup` creates).
- `flask --app app verify-audit`: the keyed audit chain against the key and the newest signed
  checkpoint, and each issued document against its `document.generated` event; exit 1 naming
  the first bad event.
- `flask --app app anchor-audit`: write a signed checkpoint of the chain's head now (the
  scheduler does it every JIANGUAN_AUDIT_ANCHOR_INTERVAL seconds).
"""
from __future__ import annotations

import sys

import click
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from integrations import health as checks
from engine.i18n import _


def create_database(url: str) -> bool:
    """Create the database of a PostgreSQL URL if missing; True when it was created. Connects
    to the server's `postgres` database with the same credentials to do so."""
    target = make_url(url)
    if not target.drivername.startswith("postgresql") or not target.database:
        return False
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).first()
            if exists:
                return False
            quoted = conn.dialect.identifier_preparer.quote_identifier(target.database)
            conn.execute(text(f"CREATE DATABASE {quoted} ENCODING 'UTF8' TEMPLATE template0"))
            return True
    finally:
        admin.dispose()


def register(app: Flask) -> None:
    @app.cli.command("health")
    @click.option("--kind", required=True,
                  type=click.Choice(["web", "worker", "beat", "listener"]))
    @click.option("--url", default=None,
                  help="web: base URL (default JIANGUAN_WEB_URL or http://127.0.0.1:PORT)")
    @click.option("--timeout", default=checks.CHECK_TIMEOUT, type=float, show_default=True,
                  help="seconds to wait for an answer (web, worker)")
    @click.option("--max-age", default=checks.DEFAULT_MAX_AGE, type=float, show_default=True,
                  help="beat, listener: oldest acceptable heartbeat, seconds")
    @click.option("--destination", "-d", multiple=True,
                  help="worker: node name that must answer (repeatable), e.g. worker-1@host")
    def health(kind: str, url: str | None, timeout: float, max_age: float,
               destination: tuple[str, ...]):
        """Exit 0 when a process of this kind is alive, 1 otherwise (for process managers)."""
        verdict = checks.check(kind, app.extensions["jianguan.settings"],
                               app.extensions.get("jianguan.celery"), url=url, timeout=timeout,
                               max_age=max_age, destination=list(destination))
        click.echo(f"{kind}: {'ok' if verdict.ok else 'FAIL'}: {verdict.detail}",
                   err=not verdict.ok)
        sys.exit(0 if verdict.ok else 1)

    @app.cli.command("verify-audit")
    def verify_audit():
        """Exit 0 when the audit chain, its checkpoint and the issued documents agree."""
        from processes.audit_check import verify_all

        settings, engine = app.extensions["jianguan.settings"], app.extensions["jianguan.engine"]
        with engine.db.read() as conn:
            report = verify_all(conn, engine.audit_key, settings.anchor_dir)
        if report.ok:
            click.echo("; ".join([_("审计链完整: {count} 条事件").format(count=report.count),
                                  *report.problems]))
            return
        if report.first_bad_seq is None:
            click.echo(_("审计链断裂: {message}").format(message=report.message), err=True)
        else:
            click.echo(_("审计链断裂, 序号 {seq}: {reason}").format(
                seq=report.first_bad_seq, reason=report.message), err=True)
        for problem in report.problems[1:20]:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)

    @app.cli.command("anchor-audit")
    def anchor_audit():
        """Write a signed checkpoint of the audit chain's head to the anchor directory."""
        from engine.audit_anchor import write

        settings, engine = app.extensions["jianguan.settings"], app.extensions["jianguan.engine"]
        with engine.db.read() as conn:
            checkpoint = write(conn, settings.anchor_dir, engine.audit_key)
        click.echo(_("已写入检查点: 序号 {seq} → {path}").format(seq=checkpoint.seq, path=checkpoint.path)
                   if checkpoint else _("审计链无新事件, 未写检查点"))

    @app.cli.command("create-database")
    def create_database_command():
        """Create the PostgreSQL database of DATABASE_URL if it does not exist yet."""
        url = app.extensions["jianguan.engine"].db.url
        created = create_database(url)
        name = make_url(url).database
        click.echo(_("已创建数据库: {name}").format(name=name) if created
                   else _("数据库已存在或无需创建: {name}").format(name=name))
