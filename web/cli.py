"""Operator commands: `flask --app app setup | create-user | load-demo | serve | verify-audit |
mqtt-listen | config | policy`, plus those of cli_ops (health, create-database) and cli_devices
(simulate-devices)."""
from __future__ import annotations

import sys

import click
from flask import Flask

from engine.errors import EngineError

from . import cli_devices, cli_ops
from engine.i18n import _


def register(app: Flask) -> None:
    engine = app.extensions["jianguan.engine"]
    settings = app.extensions["jianguan.settings"]
    cli_ops.register(app)          # health, create-database
    cli_devices.register(app)      # simulate-devices

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

    @app.cli.command("load-demo")
    def load_demo():
        """Demo users, enterprises, projects and processes in flight (see the README)."""
        from processes.demo import load

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

        timers = TimerThread(engine, timer_interval or settings.timer_interval,
                             jobs=(check_silent, notify_channels.job(settings))).start()
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
        width = max(len(name) for name, _, _ in settings.describe())
        for name, value, doc in settings.describe():
            click.echo(f"{name:<{width}}  {value or '-'}" + (f"    # {doc}" if doc else ""))

    @app.cli.command("policy")
    def show_policy():
        """Each role and the actions it may take (processes/policy.py)."""
        from processes import policy

        for role in policy.ROLES:
            click.echo(f"{role} {policy.role_name(role)} [{policy.REACH[role]}]: "
                       + " ".join(policy.actions_of(role)))

    @app.cli.command("verify-audit")
    def verify_audit():
        """Exit 0 when the audit hash chain is intact; else name the first bad event."""
        from engine.audit import verify

        with engine.db.read() as conn:
            checked, broken = verify(conn)
        if broken is None:
            click.echo(_("审计链完整: 已校验 {checked} 条事件").format(checked=checked))
            return
        click.echo(_("审计链断裂, 序号 {seq}: {reason}").format(seq=broken.seq, reason=broken.reason),
                   err=True)
        sys.exit(1)
