"""The scope of each kind of resource as SQL (what a role reaches: its district, its
enterprise's projects, the tasks drawn for it), and the one check that loads an object an
action is about and answers 404 or 403."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import and_, bindparam, false, or_, select, true

from engine.driver import Prebuilt
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.schema import attachments, instances, tasks
from engine.store import INSTANCE_COLUMNS
from engine.i18n import _

from ..schema import dead_letters, devices, documents, projects, thresholds
from .rules import ENTERPRISE_COLUMNS, REACH, rule, require, role_of_lane, scope_of

if TYPE_CHECKING:
    from ..people import Principal


# -- scope as SQL ------------------------------------------------------------------------------

def _reach(principal: Principal) -> str:
    reach = REACH.get(principal.role, "none")
    if reach == "bureau":
        return "all" if principal.district is None else "district"
    if reach == "enterprise" and not principal.enterprise_code:
        return "none"
    return reach


# The scope clauses are built once per principal (Principal is frozen, the clauses immutable):
# built on every call they cost more of a request than the statements they are part of.
@lru_cache(maxsize=4096)
def _visible_projects(principal: Principal):
    """SELECT of the project codes the principal sees (None: every project)."""
    reach = _reach(principal)
    if reach == "all":
        return None
    if reach == "district":
        return select(projects.c.code).where(projects.c.district == principal.district)
    if reach == "enterprise":
        column = projects.c[ENTERPRISE_COLUMNS[principal.role]]
        return select(projects.c.code).where(column == principal.enterprise_code)
    if reach == "assigned":
        return select(instances.c.scope_key).where(instances.c.id.in_(_assigned(principal)))
    return select(projects.c.code).where(false())


def _assigned(principal: Principal):
    return select(tasks.c.instance_id).where(tasks.c.assignee == principal.username)


@lru_cache(maxsize=4096)
def project_clause(principal: Principal):
    """SQL condition on the projects table: the projects this principal may read."""
    visible = _visible_projects(principal)
    return true() if visible is None else projects.c.code.in_(visible)


@lru_cache(maxsize=4096)
def in_visible_projects(principal: Principal, column):
    """SQL condition on a project-code column (devices, alarms, scores)."""
    visible = _visible_projects(principal)
    return true() if visible is None else column.in_(visible)


@lru_cache(maxsize=4096)
def instance_clause(principal: Principal, scope_column=instances.c.scope_key):
    """SQL condition on a scope_key column: the instances (or their rows) this principal
    may read."""
    reach = _reach(principal)
    if reach == "all":
        return true()
    if reach == "assigned":
        if scope_column is instances.c.scope_key:
            return instances.c.id.in_(_assigned(principal))
        return scope_column.in_(_visible_projects(principal))
    visible = scope_column.in_(_visible_projects(principal))
    return or_(scope_column.is_(None), visible) if reach == "district" else visible


@lru_cache(maxsize=4096)
def task_clause(principal: Principal):
    """SQL condition on tasks: the tasks this principal may act on (the inbox)."""
    if principal.role == "admin":
        return true()
    if principal.role == "expert":
        return and_(tasks.c.role == "expert", tasks.c.assignee == principal.username)
    return and_(tasks.c.role == principal.role, instance_clause(principal, tasks.c.scope_key))


def task_scopes(conn, principal: Principal) -> list[str | None] | None:
    """The same rule as task_clause, as the list of project codes (None: tasks of no project)
    whose open tasks of its role the principal acts on; None where the rule is not such a
    list (admins, experts, city-wide staff)."""
    reach = _reach(principal)
    if reach in ("all", "assigned") or principal.role == "admin":
        return None
    if reach == "none":
        return []
    codes = list(conn.execute(_visible_projects(principal)).scalars())
    return [None, *codes] if reach == "district" else codes


def own_duties_only(principal: Principal) -> str | None:
    """An inspector's duty figures are his own (the username); others see everyone's."""
    return principal.username if principal.role == "inspector" else None


def overrides_tasks(principal: Principal) -> bool:
    """May act on any task, claimed by whoever (marked in the audit trail)."""
    return principal.role == "admin"


def district_of(principal: Principal, asked: str | None) -> str | None:
    """The district a reader's figures cover: their own when they have one (asking for
    another is refused), else the one asked for (None: the whole city)."""
    if principal.role == "admin" or principal.district is None:
        return asked or None
    if asked not in (None, "", principal.district):
        raise Forbidden(_("只能查看本辖区的数据"))
    return principal.district


def audit_clause(principal: Principal):
    """Audit events a reader may search (joined to their instance): district staff read the
    events of their district's instances, everyone else here reads all."""
    from engine.schema import audit_events

    if _reach(principal) == "all":
        return true()
    return and_(audit_events.c.instance_id.is_not(None),
                instance_clause(principal, instances.c.scope_key))


# -- one object: load it, 404, 403 -----------------------------------------------------------

_NOUNS = {"instance": ("流程实例", "instance"), "task": ("任务", "task"),
          "document": ("文书", "document"), "attachment": ("附件", "attachment"),
          "project": ("项目", "project")}
_TABLES = {"instance": instances, "task": tasks, "document": documents,
           "attachment": attachments, "project": projects}
# an instance without its blob: no check or answer needs the serialized workflow
_COLUMNS = {"instance": INSTANCE_COLUMNS}
_LOAD = {name: select(*_COLUMNS.get(name, [table])).where(
    (table.c.code if name == "project" else table.c.id) == bindparam("key"))
    for name, table in _TABLES.items()}


# The scope of a row of its own table, as a condition on that row, read with the row: one
# statement per check, on the driver's cursor (engine.driver: every API call makes one).
# Documents and attachments are in scope through their instance.
_SCOPE_FLAGS = {"instance": instance_clause, "task": task_clause, "project": project_clause}


@lru_cache(maxsize=4096)
def _load_in_scope(resource: str, principal: Principal) -> Prebuilt:
    statement = _LOAD[resource]
    flag = _SCOPE_FLAGS.get(resource)
    return Prebuilt(statement if flag is None else statement.add_columns(
        flag(principal).label("in_caller_scope")))


def load(conn, principal: Principal, action: str, object_id: str):
    """The object an action is about, when the principal may take it there: NotFound (404)
    when there is no such object, Forbidden (403) when it is outside the caller's scope."""
    r = rule(action)
    require(principal, action)
    row = _load_in_scope(r.resource, principal).first(conn, {"key": object_id})
    noun, english = _NOUNS[r.resource]
    if row is None:
        raise NotFound(_("{noun}不存在: {object_id}").format(
                           noun=noun, english=english, object_id=object_id))
    if r.resource in _SCOPE_FLAGS:
        # a task a reader may not act on is still readable through its instance
        allowed = bool(row.in_caller_scope) or (
            r.resource == "task" and r.need != "act"
            and can_read_instance(conn, principal, row.instance_id))
    else:
        allowed = can_read_instance(conn, principal, row.instance_id)
    if not allowed:
        raise Forbidden(_("无权访问该{noun}: 不在您的角色或管辖范围内").format(noun=noun, english=english))
    return row


def acts_on(task_row) -> bool:
    """Whether the principal `load` read this task for may act on it (its role and scope):
    the flag read with the row, no second read."""
    return bool(task_row.in_caller_scope)


def can_read_instance(conn, principal: Principal, instance_id: str) -> bool:
    return conn.execute(_readable(principal), {"id": instance_id}).first() is not None


def can_act_on_task(conn, principal: Principal, task_id: str) -> bool:
    return conn.execute(_actionable(principal), {"id": task_id}).first() is not None


@lru_cache(maxsize=4096)
def _readable(principal: Principal):
    return select(instances.c.id).where(instances.c.id == bindparam("id"),
                                        instance_clause(principal))


@lru_cache(maxsize=4096)
def _actionable(principal: Principal):
    return select(tasks.c.id).where(tasks.c.id == bindparam("id"), task_clause(principal))


@lru_cache(maxsize=4096)
def _project_in_scope(principal: Principal):
    """The project's row, when it exists, with whether the principal sees it."""
    return select(projects.c.code, project_clause(principal).label("visible")).where(
        projects.c.code == bindparam("code"))


def may_start_lane(principal: Principal, start_lane: str | None) -> bool:
    """Whether the role may start a process whose start event is in this lane (the start
    page lists only these)."""
    if principal.role == "admin":
        return True
    role = role_of_lane(start_lane)
    return principal.role in ("inspector", "leader", "designer") if role is None \
        else principal.role == role


def check_start(conn, principal: Principal, start_lane: str | None, business_key: str | None,
                variables: dict) -> None:
    """Starting needs the role of the start event's lane (bureau staff where it has none)
    and, for an instance of a project, that project in the caller's scope."""
    require(principal, "instance.start")
    if principal.role == "admin":
        return
    if not may_start_lane(principal, start_lane):
        raise Forbidden(_("只有 {value} 可以启动该流程").format(value=start_lane or '监督机构人员'))
    business_key = normalise_key(business_key)
    named = (variables or {}).get("project_code")
    if business_key and named not in (None, "") and normalise_key(str(named)) != business_key:
        # the documents print the project the variable names: it must be the instance's own
        raise Invalid(_("项目编号与业务键不一致"),
                      {"project_code": [f"与业务键 {business_key[:60]} 不一致"]})
    if not business_key and named not in (None, "") and not isinstance(named, str):
        raise Invalid(_("项目编号须为文本"),
                      {"project_code": [_("项目编号须为文本")]})
    scope = scope_of(business_key, variables)
    if not scope:
        return
    exists = conn.execute(_project_in_scope(principal), {"code": scope}).first()
    if exists is None:
        # an instance keyed by no project would be outside every scope but the city's: only
        # city-wide staff may start one (a key with a stray space is not another project)
        if _reach(principal) != "all":
            field = "business_key" if business_key else "project_code"
            raise Invalid(_("工程项目 {value} 不存在").format(value=scope[:60]),
                          {field: [_("工程项目 {value} 不存在").format(value=scope[:60])]})
        return
    if not exists.visible:
        raise Forbidden(_("该项目不在您的管辖或所属范围内"))


# -- scope of the lists without an instance (hardening, issue 15) ------------------------------

_BLANKS = " \t\r\n\v\f\u00a0\u3000\u200b\ufeff"


def normalise_key(value):
    """A business key as the projects table spells it: surrounding blanks (also full-width and
    zero-width ones) removed, an empty key is none."""
    if not isinstance(value, str):
        return value
    value = value.strip(_BLANKS)
    return value or None


def dead_letter_clause(principal: Principal):
    """Refused payloads a reader may list: city-wide staff and the gateway (which sent them)
    all; district staff those naming a project of their district (a payload naming no known
    project is the city's)."""
    if principal.role == "gateway" or _reach(principal) == "all":
        return true()
    return in_visible_projects(principal, dead_letters.c.project_code)


def threshold_clause(principal: Principal):
    """Limits a reader may list: the city's defaults, and the overrides of projects (or of
    devices of projects) within reach; the gateway applies every limit, so it reads all."""
    if principal.role == "gateway" or _reach(principal) == "all":
        return true()
    visible = _visible_projects(principal)
    city = and_(thresholds.c.project_code.is_(None), thresholds.c.device_id.is_(None))
    return or_(city, thresholds.c.project_code.in_(visible),
               and_(thresholds.c.project_code.is_(None), thresholds.c.device_id.in_(
                   select(devices.c.id).where(devices.c.project_code.in_(visible)))))


def check_claim(principal: Principal, row) -> None:
    """A task claimed by one person is worked (completed, drafted) by that person only (an
    admin overrides)."""
    if row.assignee and row.assignee != principal.username and not overrides_tasks(principal):
        raise Conflict(_("任务已由 {assignee} 认领, 不能修改").format(assignee=row.assignee))
