"""Checkpoints of the audit chain's head, kept outside the database.

A checkpoint is a small JSON file `checkpoint-<seq>.json` in a directory (settings:
JIANGUAN_AUDIT_ANCHOR_DIR, default var/audit-anchors/; point it at storage the database's
administrators cannot write, or copy it off the machine): the head's sequence number and hash
and when it was taken, signed with HMAC-SHA256 under the audit key. `verify-audit` then knows
how far the chain reached at that moment: events cut off the tail after a checkpoint, or a
chain rewritten before it, no longer match. The scheduler (embedded thread or Celery beat)
writes one every `audit_anchor_interval` seconds when the chain has moved.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from .audit import DEFAULT_KEY
from .schema import audit_head
from engine.i18n import _

KIND = "jianguan.audit.checkpoint"
NAME = re.compile(r"^checkpoint-(\d{1,20})\.json$")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    path: str


class BadCheckpoint(ValueError):
    """A checkpoint file that is not one this key signed (forged, edited or damaged)."""


def _signature(key: bytes, body: dict) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def write(conn, directory: str, key: bytes | None = None,
          now: datetime | None = None) -> Checkpoint | None:
    """A signed checkpoint of the committed head (None when the chain is empty, or the newest
    checkpoint already holds this head)."""
    key = key or DEFAULT_KEY
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    if head is None or head.seq == 0:
        return None
    newest = latest(directory, key, strict=False)
    if newest is not None and newest.seq >= head.seq:
        return None
    at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat()
    body = {"kind": KIND, "seq": int(head.seq), "hash": head.hash, "at": at}
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"checkpoint-{int(head.seq):012d}.json")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".checkpoint-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:          # whole file or none
        json.dump({**body, "signature": _signature(key, body)}, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return Checkpoint(body["seq"], body["hash"], at, path)


def read(path: str, key: bytes | None = None) -> Checkpoint:
    key = key or DEFAULT_KEY
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        body = {k: data[k] for k in ("kind", "seq", "hash", "at")}
        signature = data["signature"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadCheckpoint(_("检查点文件无法读取 {path}: {exc}").format(path=path, exc=exc)) from None
    if body["kind"] != KIND or not isinstance(body["seq"], int) or \
            not isinstance(signature, str) or \
            not hmac.compare_digest(_signature(key, body), signature):
        raise BadCheckpoint(_("检查点签名无效: {path}").format(path=path))
    return Checkpoint(body["seq"], body["hash"], body["at"], path)


def latest(directory: str, key: bytes | None = None, strict: bool = True) -> Checkpoint | None:
    """The newest checkpoint in the directory (None: there is none). `strict`: a newest file
    that does not verify raises BadCheckpoint (verify-audit reports it); otherwise it is
    skipped."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return None
    found = sorted(((int(m.group(1)), name) for name in names if (m := NAME.match(name))),
                   reverse=True)
    for _at, name in found:
        try:
            return read(os.path.join(directory, name), key)
        except BadCheckpoint:
            if strict:
                raise
    return None


class Anchorer:
    """The periodic job: a checkpoint when `interval` seconds have passed since the last one
    this process wrote (the embedded thread calls it on every pass)."""

    def __init__(self, directory: str, key: bytes | None, interval: float):
        self.directory, self.key, self.interval = directory, key, interval
        self._last: float | None = None
        self.__name__ = "audit_anchor"

    def __call__(self, engine) -> Checkpoint | None:
        import time

        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            return None
        self._last = now
        with engine.db.read() as conn:
            return write(conn, self.directory, self.key)
