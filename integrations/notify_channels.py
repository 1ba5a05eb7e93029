"""Outbound notification channels (processes.notifications.Channel): where an SMS, WeChat or
e-mail gateway plugs in. Two come with the platform: `LoggingChannel` writes each message to
the log (the default, so a demo shows what would be sent), and `WebhookChannel` POSTs it as
JSON to the URL in the settings (`JIANGUAN_NOTIFY_WEBHOOK_URL`), which a bureau's gateway
turns into SMS or WeChat messages. `job(settings)` is the background pass that sends them.
"""
from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import asdict
from typing import Callable

from processes.notifications import Channel, Message, run_pass
from engine.i18n import _

log = logging.getLogger("jianguan.notify")


class LoggingChannel:
    name = "log"

    def send(self, message: Message) -> None:
        log.info("通知 %s (%s): %s %s", message.display_name, message.username, message.title,
                 message.link or "")


class WebhookChannel:
    """POST {username, display_name, kind, title, link, text} as JSON; a non-2xx answer or no
    answer within `timeout` seconds is a failure (retried by the outbox)."""
    name = "webhook"

    def __init__(self, url: str, timeout: float = 5.0, public_url: str | None = None):
        self.url, self.timeout, self.public_url = url, timeout, public_url

    def send(self, message: Message) -> None:
        body = asdict(message)
        link = message.link
        if link and self.public_url and link.startswith("/"):
            link = self.public_url.rstrip("/") + link
        body["text"] = f"【监管平台】{message.title}" + (f" {link}" if link else "")
        request = urllib.request.Request(
            self.url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:
            if not 200 <= answer.status < 300:
                raise RuntimeError(_("网关答复 {status}").format(status=answer.status))


def channels_for(settings) -> list[Channel]:
    found: list[Channel] = [LoggingChannel()]
    if settings.notify_webhook_url:
        found.append(WebhookChannel(settings.notify_webhook_url,
                                    public_url=settings.public_url))
    return found


def job(settings) -> Callable:
    """The background pass for TimerThread's jobs or a Celery beat task."""
    def notifications(engine) -> dict:
        return run_pass(engine, settings.task_max_retries, settings.retry_backoff)
    return notifications
