"""Who did something, as people read it: the platform's own actors in words, people by
their display names."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from engine.driver import Prebuilt, all_together

from .schema import users

SYSTEM_ACTORS = {"system:timer": "系统(定时器)", "system:worker": "系统(后台任务)",
                 "system:devices": "系统(设备接入)", "system:documents": "系统(文书)",
                 "system:schedule": "系统(定期计划)", "system:setup": "系统(初始化)",
                 "system:demo": "系统(演示数据)"}


_FEW = 8
# Names are read in groups of up to _FEW, one statement per group size, on the driver's
# cursor; the groups of one call go out together (one round trip on PostgreSQL).
_FEW_NAMES = {n: Prebuilt(select(users.c.username, users.c.display_name).where(
    users.c.username.in_([bindparam(f"u{i}") for i in range(n)]))) for n in range(1, _FEW + 1)}


def people_names(conn, usernames) -> dict[str, str]:
    """username -> display name of the people among `usernames` (system actors left out)."""
    reads = name_reads(usernames)
    if not reads:
        return {}
    return {k: v for rows in all_together(conn, reads) for k, v in names_from(rows).items()}


def name_reads(usernames) -> list[tuple[Prebuilt, dict]]:
    """The reads of these people's names, to send with other reads (driver.all_together);
    each read's rows give names through names_from."""
    wanted = _people(usernames)
    return [_few_names(wanted[i:i + _FEW]) for i in range(0, len(wanted), _FEW)]


def _people(usernames) -> list[str]:
    return sorted({u for u in usernames if u and not u.startswith("system:")})


def _few_names(wanted: list[str]) -> tuple[Prebuilt, dict]:
    return _FEW_NAMES[len(wanted)], {f"u{i}": u for i, u in enumerate(wanted)}


def names_from(rows) -> dict[str, str]:
    return {r.username: r.display_name for r in rows}


def actor_name(actor: str | None, names: dict[str, str]) -> str:
    if not actor:
        return "系统"
    if actor in SYSTEM_ACTORS:
        return SYSTEM_ACTORS[actor]
    if actor.startswith("system:"):
        return "系统"
    return names.get(actor, actor)
