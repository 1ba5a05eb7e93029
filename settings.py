"""The platform's configuration: one typed, frozen object built once per process.

Sources, each overriding the one before: the defaults below, a TOML file named by
`JIANGUAN_SETTINGS_FILE` (keys as the field names or as the variable names), the environment
(the variable named beside each field), and the dict given to `create_app(config)` (the
contract's keys such as `DATABASE_URL`, and `ENGINE` for engine limits in tests). Nothing
reads `os.environ` for configuration anywhere else: the app factory builds this object and
hands it to the engine, the pages, Celery, the MQTT listener and the scheduler.

`flask --app app config` prints it with secrets masked.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

DEFAULT_AUTHORITY = "佛山市住房和城乡建设局 建设工程质量安全监督站"
FILE_VARIABLE = "JIANGUAN_SETTINGS_FILE"
MASK = "***"


class SettingsError(ValueError):
    """A value that cannot be used; the message names the variable."""


def _env(name: str, secret: bool = False, doc: str = "") -> dict:
    return {"env": name, "secret": secret, "doc": doc}


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default=None, metadata=_env(
        "DATABASE_URL", doc="数据库 (SQLAlchemy URL); 未设置: var 目录下的 SQLite"))
    secret_key: str | None = field(default=None, metadata=_env(
        "SECRET_KEY", secret=True, doc="签发令牌与会话; 未设置: 生成并保存在 var 目录"))
    celery_broker_url: str | None = field(default=None, metadata=_env(
        "CELERY_BROKER_URL", doc="Celery 消息代理; 未设置: 进程内后台线程"))
    redis_url: str | None = field(default=None, metadata=_env(
        "REDIS_URL", doc="心跳与 /healthz; 未设置时用 Redis 消息代理"))
    mqtt_url: str | None = field(default=None, metadata=_env("MQTT_URL"))
    mqtt_topic_prefix: str = field(default="jianguan", metadata=_env("MQTT_TOPIC_PREFIX"))
    var_dir: str = field(default="var", metadata=_env(
        "JIANGUAN_VAR_DIR", doc="内置数据库与密钥所在目录"))
    timer_interval: float = field(default=5.0, metadata=_env(
        "JIANGUAN_TIMER_INTERVAL", doc="后台轮询间隔 (秒)"))
    task_max_retries: int = field(default=3, metadata=_env(
        "JIANGUAN_TASK_MAX_RETRIES", doc="异步任务失败重试次数 (之后记为故障)"))
    retry_backoff: float = field(default=2.0, metadata=_env(
        "JIANGUAN_RETRY_BACKOFF", doc="首次重试等待 (秒), 逐次加倍"))
    retry_backoff_max: float = field(default=300.0, metadata=_env("JIANGUAN_RETRY_BACKOFF_MAX"))
    celery_queue: str = field(default="jianguan", metadata=_env("JIANGUAN_CELERY_QUEUE"))
    celery_visibility_timeout: float = field(default=3600.0, metadata=_env(
        "JIANGUAN_CELERY_VISIBILITY_TIMEOUT", doc="worker 失联后其任务转交的秒数"))
    extra_operations: tuple[str, ...] = field(default=(), metadata=_env(
        "JIANGUAN_EXTRA_OPERATIONS", doc="追加服务操作的模块 (逗号分隔)"))
    authority: str = field(default=DEFAULT_AUTHORITY, metadata=_env(
        "JIANGUAN_AUTHORITY", doc="文书上的出具机关"))
    public_url: str | None = field(default=None, metadata=_env(
        "JIANGUAN_PUBLIC_URL", doc="文书二维码中验证网址的前缀 (未设置: 取网页请求的主机地址)"))
    web_url: str | None = field(default=None, metadata=_env(
        "JIANGUAN_WEB_URL", doc="`flask health --kind web` 检查的地址"))
    port: int = field(default=5000, metadata=_env("PORT"))
    notify_webhook_url: str | None = field(default=None, metadata=_env(
        "JIANGUAN_NOTIFY_WEBHOOK_URL", secret=True, doc="通知外发网关 (短信/微信/邮件) 的 Webhook 地址"))
    session_cookie_secure: bool = field(default=False, metadata=_env(
        "SESSION_COOKIE_SECURE", doc="会话 Cookie 仅经 HTTPS 发送 (部署在 HTTPS 之后时设为 true)"))
    login_limit_account: str = field(default="10 per 15 minutes", metadata=_env(
        "JIANGUAN_LOGIN_LIMIT_ACCOUNT", doc="每个账号的登录失败次数上限 (超出后 429)"))
    login_limit_address: str = field(default="50 per 15 minutes", metadata=_env(
        "JIANGUAN_LOGIN_LIMIT_ADDRESS", doc="每个客户端地址的登录失败次数上限 (超出后 429)"))
    trusted_proxies: int = field(default=0, metadata=_env(
        "JIANGUAN_TRUSTED_PROXIES", doc="前置反向代理的层数: 按 X-Forwarded-For 取客户端地址 (0: 不信任)"))
    audit_key: str | None = field(default=None, metadata=_env(
        "JIANGUAN_AUDIT_KEY", secret=True,
        doc="审计链 HMAC 密钥 (勿存于数据库); 未设置: 由 SECRET_KEY 派生, 生产环境请单独设置"))
    audit_anchor_dir: str | None = field(default=None, metadata=_env(
        "JIANGUAN_AUDIT_ANCHOR_DIR", doc="审计链检查点目录; 未设置: var 目录下 audit-anchors"))
    audit_anchor_interval: float = field(default=3600.0, metadata=_env(
        "JIANGUAN_AUDIT_ANCHOR_INTERVAL", doc="写审计链检查点的间隔 (秒)"))
    engine: Mapping[str, Any] = field(default_factory=dict, metadata=_env(
        "ENGINE", doc="引擎限额 (EngineSettings); 仅配置文件或 create_app"))

    # -- derived --------------------------------------------------------------------------
    @property
    def heartbeat_redis_url(self) -> str | None:
        """Redis as the platform uses it: REDIS_URL, else the broker when that is Redis."""
        url = self.redis_url or self.celery_broker_url
        return url if url and url.startswith(("redis://", "rediss://", "unix://")) else None

    @property
    def health_url(self) -> str:
        return self.web_url or f"http://127.0.0.1:{self.port}"

    @property
    def audit_secret(self) -> bytes:
        """The audit chain's HMAC key: JIANGUAN_AUDIT_KEY, else derived from SECRET_KEY (a
        development default: app.py warns about it)."""
        if self.audit_key:
            return self.audit_key.encode()
        return hmac.new((self.secret_key or "").encode(), b"jianguan audit chain v1",
                        hashlib.sha256).digest()

    @property
    def anchor_dir(self) -> str:
        return self.audit_anchor_dir or os.path.join(self.var_dir, "audit-anchors")

    def engine_settings(self) -> dict:
        """Keyword arguments of engine.core.EngineSettings: the retry figures come from here
        (one source for the engine, the embedded thread and Celery); ENGINE may override."""
        return {"job_attempts": self.task_max_retries + 1,
                "job_backoff_seconds": self.retry_backoff, **dict(self.engine)}

    def backoff(self, retries: int) -> float:
        return min(self.retry_backoff_max, self.retry_backoff * (2 ** retries))

    # -- building -------------------------------------------------------------------------
    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             overrides: Mapping[str, Any] | None = None) -> "Settings":
        """Defaults < settings file < environment < overrides (create_app's dict)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        path = (overrides or {}).get(FILE_VARIABLE) or environ.get(FILE_VARIABLE)
        if path:
            values.update(_from_mapping(_read_file(path), str(path)))
        values.update(_from_mapping({k: v for k, v in environ.items() if v != ""},
                                    "环境变量 (environment)", env_only=True))
        values.update(_from_mapping(overrides or {}, "create_app(config)"))
        values["var_dir"] = os.path.abspath(values.get("var_dir", cls.var_dir))
        return cls(**values)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def flask_config(self) -> dict:
        """The contract's keys, mirrored into Flask's config for code that reads them there
        (Flask itself signs the session cookie with SECRET_KEY); read-only copies."""
        return {"DATABASE_URL": self.database_url, "SECRET_KEY": self.secret_key,
                "CELERY_BROKER_URL": self.celery_broker_url, "REDIS_URL": self.redis_url,
                "MQTT_URL": self.mqtt_url, "VAR_DIR": self.var_dir}

    def describe(self) -> list[tuple[str, str, str]]:
        """(variable, value with secrets masked, what it does), for `flask config`."""
        rows = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata["secret"] and value:
                shown = MASK
            elif isinstance(value, str):
                shown = mask_url(value)
            elif isinstance(value, tuple):
                shown = ",".join(value)
            elif isinstance(value, Mapping):
                shown = ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
            else:
                shown = "" if value is None else str(value)
            rows.append((f.metadata["env"], shown, f.metadata["doc"]))
        return rows


def mask_url(value: str) -> str:
    """A URL with its password replaced by ***; anything else unchanged."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if not parts.scheme or parts.password is None:
        return value
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_BY_ENV = {f.metadata["env"]: f for f in _FIELDS.values()}
_BY_ENV["VAR_DIR"] = _FIELDS["var_dir"]          # tests' create_app(config) key


def _read_file(path: str) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise SettingsError(f"无法读取配置文件 {path} (cannot read settings file): {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"配置文件 {path} 不是有效的 TOML (invalid TOML): {exc}") from exc


def _from_mapping(source: Mapping[str, Any], where: str, env_only: bool = False) -> dict:
    values = {}
    for key, raw in source.items():
        f = _BY_ENV.get(key) if env_only else (_BY_ENV.get(key) or _FIELDS.get(key))
        if f is None or (env_only and f.name == "engine"):
            continue
        values[f.name] = _convert(f, raw, f"{where}: {key}")
    return values


def _convert(f: dataclasses.Field, raw: Any, where: str) -> Any:
    kind = f.type
    try:
        if raw is None:
            if "None" not in kind:
                raise ValueError("不能为空 (may not be empty)")
            return None
        if kind == "bool":
            return _boolean(raw)
        if kind == "float":
            return float(raw)
        if kind == "int":
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError(raw)
            return int(raw)
        if kind.startswith("tuple"):
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(str(i).strip() for i in items if str(i).strip())
        if kind.startswith("Mapping"):
            if not isinstance(raw, Mapping):
                raise ValueError("必须是表 (must be a table)")
            return dict(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"配置项 {where} 的值无效 (invalid value {raw!r}): {exc}") from None


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("必须是 true 或 false (must be true or false)")
