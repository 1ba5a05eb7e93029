"""Operator commands: `flask --app app setup | create-user | set-password | deactivate-user |
load-demo | serve | mqtt-listen | config | policy`, plus those of cli_ops (health,
create-database, verify-audit, anchor-audit) and cli_devices
(simulate-devices)."""
from __future__ import annotations


import click
from flask import Flask

from engine.errors import EngineError

from . import cli_devices, cli_imports, cli_ops
from engine.i18n import _


def register(app: Flask) -> None:
    engine = app.extensions["jianguan.engine"]
    settings = app.extensions["jianguan.settings"]
    cli_ops.register(app)          # health, create-database
    cli_devices.register(app)      # simulate-devices
    cli_imports.register(app)      # import KIND FILE

    @app.cli.command("setup")
    def setup():
        """Create or upgrade the database and deploy bpmn/ and forms/ (safe to run twice)."""
        from processes.bundled import deploy_bundled
        from processes.documents import issue_leftovers
        from processes.migrate import upgrade
        from processes.policy import reassign_lanes
        from processes.thresholds import load_defaults

        upgrade(engine.db)
        with engine.unit("system:setup") as unit:
            load_defaults(unit.conn)           # alarm limits: data an operator may change
            reassign_lanes(unit.conn)          # open tasks follow the current lane → role map
        with engine.db.write() as conn:        # an older database's plain events: sealed
            from engine import audit
            audit.append(conn, [], engine.audit_key, seal=True)
        issue_leftovers(engine)                # corrections an earlier version left unrendered
        click.echo(_("数据库已就绪: {value}").format(value=engine.db.engine.url.render_as_string()))
        deployed = deploy_bundled(engine)
        created = [d for d in deployed if d.created]
        click.echo(_("已部署 {len_created} 个新版本, {value} 个未变化").format(
                       len_created=len(created), value=len(deployed) - len(created)))

    @app.cli.command("create-user")
    @click.argument("name")
    @click.option("--role", required=True)
    @click.option("--password", required=True)
    @click.option("--district", default=None)
    @click.option("--enterprise", default=None)
    @click.option("--display-name", default=None)
    def create_user(name, role, password, district, enterprise, display_name):
        """Create a user with a role and a scope (district or enterprise)."""
        from processes.people import create_user as create

        try:
            with engine.unit("cli") as unit:
                user = create(unit.conn, name, role, password, district, enterprise,
                              display_name)
                unit.record("user.created", username=user.username, role=user.role,
                            district=user.district, enterprise=user.enterprise_code)
        except EngineError as exc:
            details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items())
            raise click.ClickException(f"{exc.message} {details}".strip())
        click.echo(f"已创建用户 {user.username} ({user.role})")

    @app.cli.command("set-password")
    @click.argument("name")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def set_password(name, password):
        """A new password for a user; every session and token of the user ends at once."""
        from processes.people import set_password as change

        try:
            with engine.unit("cli") as unit:
                change(unit.conn, name, password)
                unit.record("user.password_changed", username=name)
        except EngineError as exc:
            raise click.ClickException(exc.message)
        click.echo(_("已修改 {name} 的密码, 其所有会话已结束").format(name=name))

    @app.cli.command("deactivate-user")
    @click.argument("name")
    @click.option("--reactivate", is_flag=True, help="allow the user to sign in again")
    def deactivate_user(name, reactivate):
        """Refuse a user's sign-in; every session and token of the user ends at once."""
        from processes.people import set_active

        try:
            with engine.unit("cli") as unit:
                set_active(unit.conn, name, reactivate)
                unit.record("user.reactivated" if reactivate else "user.deactivated",
                            username=name)
        except EngineError as exc:
            raise click.ClickException(exc.message)
        click.echo(f"已{'启用' if reactivate else '停用'}用户 {name}")

    @app.cli.command("load-demo")
    @click.option("--force", is_flag=True,
                  help="load even into a database that already has users")
    @click.option("--if-empty", "if_empty", is_flag=True,
                  help="load only into an empty database; otherwise do nothing and succeed "
                       "(make run: first start only)")
    def load_demo(force: bool, if_empty: bool):
        """Demo users (published password), enterprises, projects and processes in flight
        (see the README); only into an empty database unless --force."""
        from processes.demo import has_users, load

        with engine.db.read() as conn:
            count = has_users(conn)
        if count and not force:
            if if_empty:
                click.echo(_("数据库已有 {count} 个用户, 未载入演示数据").format(count=count))
                return
            raise click.ClickException(
                _("数据库已有 {count} 个用户: 演示数据 (公开密码的账号) 只载入空数据库; 确需载入请加 --force").format(count=count))
        summary = load(engine, echo=click.echo)
        click.echo(_("演示数据已载入: {summary}").format(summary=summary))

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    @click.option("--timer-interval", default=None, type=float,
                  help="seconds between timer passes (JIANGUAN_TIMER_INTERVAL, default 5)")
    def serve(host: str, port: int, timer_interval: float | None):
        """The embedded default: web server plus the in-process timer scheduler."""
        from werkzeug.serving import run_simple

        from integrations import notify_channels
        from integrations.scheduler import TimerThread
        from processes.alarms import check_silent
        from processes.analytics import rollup_pass
        from processes.migrations import resume_unfinished

        from engine.audit_anchor import Anchorer

        anchor = Anchorer(settings.anchor_dir, engine.audit_key, settings.audit_anchor_interval)
        timers = TimerThread(engine, timer_interval or settings.timer_interval,
                             jobs=(check_silent, notify_channels.job(settings),
                                   resume_unfinished, rollup_pass, anchor)).start()
        if engine.wake is None:          # no broker: async tasks run on this thread
            engine.wake = timers.wake
        click.echo(_("监管平台已启动: http://{host}:{port}/api/docs").format(host=host, port=port))
        try:
            run_simple(host, port, app, threaded=True, use_reloader=False)
        finally:
            timers.stop()

    @app.cli.command("mqtt-listen")
    @click.option("--url", default=None, help="broker, e.g. mqtt://127.0.0.1:1883 (MQTT_URL)")
    @click.option("--client-id", default="jianguan-listener",
                  help="one persistent session per id: keep it across restarts")
    @click.option("--prefix", default=None,
                  help="first topic level (MQTT_TOPIC_PREFIX, default jianguan)")
    def mqtt_listen(url: str | None, client_id: str, prefix: str | None):
        """Devices' MQTT messages (QoS 1, persistent session) into the processes."""
        import logging

        from integrations.mqtt_listener import PREFIX, Listener

        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        url = url or settings.mqtt_url
        if not url:
            raise click.ClickException(_("未配置 MQTT_URL"))
        listener = Listener(engine, url, client_id=client_id,
                            prefix=prefix or settings.mqtt_topic_prefix or PREFIX,
                            redis_url=settings.heartbeat_redis_url)
        click.echo(_("监听 {host}:{port} {topic}").format(
                       host=listener.host, port=listener.port, topic=listener.topic), err=True)
        stats = listener.run()
        click.echo(_("已停止: 收到 {received}, 接受 {accepted}, 重复 {duplicates}, 死信 {dead}").format(
                       received=stats.received, accepted=stats.accepted,
                       duplicates=stats.duplicates, dead=stats.dead))

    @app.cli.command("config")
    def show_config():
        """The settings this process runs with (secrets masked) and where each comes from."""
        width = max(len(item[0]) for item in settings.describe())
        for name, value, doc in settings.describe():
            click.echo(f"{name:<{width}}  {value or '-'}" + (f"    # {doc}" if doc else ""))

    @app.cli.command("policy")
    def show_policy():
        """Each role and the actions it may take (processes/policy.py)."""
        from processes import policy

        for role in policy.ROLES:
            click.echo(f"{role} {policy.role_name(role)} [{policy.REACH[role]}]: "
                       + " ".join(policy.actions_of(role)))
