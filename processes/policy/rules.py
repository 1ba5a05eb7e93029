"""Who may do what: the roles, the action table (role → actions) with the kind of
resource each action is about, the navigation, and the lanes that map to roles."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from engine.errors import Forbidden
from engine.schema import tasks
from engine.i18n import _

if TYPE_CHECKING:
    from ..people import Principal


ROLES = ("admin", "designer", "inspector", "contractor", "supervisor", "builder", "expert",
         "leader", "auditor", "gateway")
ROLE_NAMES = {
    "admin": "系统管理员", "designer": "流程设计员", "inspector": "监督员",
    "contractor": "施工单位", "supervisor": "监理单位", "builder": "建设单位",
    "expert": "评审专家", "leader": "领导", "auditor": "审计员", "gateway": "物联网网关",
}
BUREAU_ROLES = ("admin", "designer", "inspector", "leader", "auditor")
# enterprise roles and the project column naming their enterprise
ENTERPRISE_COLUMNS = {"contractor": "contractor_code", "supervisor": "supervisor_code",
                      "builder": "builder_code"}
REACH = {"admin": "all", "designer": "bureau", "inspector": "bureau", "leader": "bureau",
         "auditor": "bureau", "contractor": "enterprise", "supervisor": "enterprise",
         "builder": "enterprise", "expert": "assigned", "gateway": "none"}

# Lane names a designer may use for each role (English role names work as they are).
LANE_ROLES = {
    "inspector": ("监督员", "监督站", "监督人员", "质量安全监督站", "监督机构", "inspector"),
    "contractor": ("施工单位", "施工总包", "总包单位", "施工方", "安装单位", "产权单位",
                   "使用单位", "contractor"),
    "builder": ("建设单位", "建设方", "业主", "builder"),
    "supervisor": ("监理", "监理单位", "监理工程师", "总监", "supervisor"),
    "expert": ("专家", "评审专家", "expert"),
    "leader": ("领导", "区住建局", "住建局", "局领导", "leader"),
    "designer": ("流程设计", "designer"),
    "auditor": ("审计", "auditor"),
    "admin": ("管理员", "admin"),
}
_LANE_TO_ROLE = {name.lower(): role for role, names in LANE_ROLES.items() for name in names}

# -- roles → actions ---------------------------------------------------------------------------

PEOPLE = frozenset(ROLES) - {"gateway"}
STAFF = frozenset({"admin", "inspector", "leader", "auditor"})
DESIGNERS = frozenset({"admin", "designer"})
AUDITORS = frozenset({"admin", "auditor", "leader"})
DEVICES = frozenset({"admin", "gateway"})


@dataclass(frozen=True)
class Rule:
    """Who may take an action (`roles`; None: anyone, no sign-in), and on what kind of
    resource; `need` "act" when the caller must be able to work the object (a task of his
    role), not only see it; `listing` marks a list that the scope filters instead of
    refusing."""
    roles: frozenset | None
    resource: str | None = None
    need: str = "read"
    listing: bool = False


# Kinds of resource and their scope: project, instance, task (to act: the lane's role too),
# document and attachment (their instance's), device and alarm (their project's, in lists),
# audit (its instance's district), district (the caller's own), dead_letter and threshold
# (the project they name: dead_letter_clause, threshold_clause); definition and message are
# not scoped (the role alone decides).
PUBLIC = Rule(None)
ACTIONS: dict[str, Rule] = {
    "auth.login": PUBLIC,
    "auth.logout": Rule(frozenset(ROLES)),       # revoke one's own token or session
    "document.verify": PUBLIC,
    "definition.list": Rule(PEOPLE, "definition", listing=True),
    "definition.read": Rule(PEOPLE, "definition"),
    "definition.deploy": Rule(DESIGNERS, "definition"),
    "definition.validate": Rule(DESIGNERS, "definition"),
    "instance.start": Rule(PEOPLE, "project", need="start"),
    "instance.list": Rule(PEOPLE, "instance", listing=True),
    "instance.read": Rule(PEOPLE, "instance"),
    "instance.history": Rule(PEOPLE, "instance"),
    "instance.documents": Rule(PEOPLE, "instance"),
    "instance.expert_draws": Rule(STAFF, "instance"),
    "instance.cancel": Rule(frozenset({"admin", "inspector", "leader"}), "instance"),
    "instance.retry": Rule(frozenset({"admin", "designer", "inspector"}), "instance"),
    "task.list": Rule(PEOPLE, "task", need="act", listing=True),
    "task.read": Rule(PEOPLE, "task"),
    "task.attachments": Rule(PEOPLE, "task"),
    "task.claim": Rule(PEOPLE, "task", need="act"),
    "task.unclaim": Rule(PEOPLE, "task", need="act"),
    "task.draft": Rule(PEOPLE, "task", need="act"),
    "task.complete": Rule(PEOPLE, "task", need="act"),
    "task.attach": Rule(PEOPLE, "task", need="act"),
    "attachment.read": Rule(PEOPLE, "attachment"),
    "document.read": Rule(PEOPLE, "document"),
    "document.correct": Rule(frozenset({"admin", "inspector"}), "document"),
    "project.list": Rule(PEOPLE, "project", listing=True),
    "score.list": Rule(PEOPLE, "project", listing=True),
    "message.send": Rule(DEVICES, "message"),
    "message.list": Rule(frozenset({"admin", "gateway", "auditor"}), "message", listing=True),
    "alarm.ingest": Rule(DEVICES, "alarm"),
    "telemetry.ingest": Rule(DEVICES, "device"),
    "alarm.list": Rule(PEOPLE, "alarm", listing=True),
    "device.list": Rule(PEOPLE, "device", listing=True),
    "dead_letter.list": Rule(frozenset({"admin", "gateway", "auditor", "leader"}),
                             "dead_letter", listing=True),
    "threshold.list": Rule(frozenset({"admin", "designer", "inspector", "leader", "auditor",
                                      "gateway"}), "threshold", listing=True),
    "threshold.add": Rule(DESIGNERS, "threshold"),
    "dashboard.read": Rule(STAFF, "district"),
    "duty.compliance": Rule(STAFF, "district"),
    "audit.search": Rule(AUDITORS, "audit", listing=True),
    "audit.export": Rule(AUDITORS, "audit", listing=True),
    "audit.verify": Rule(AUDITORS, "audit"),
    # the task platform: inbox summary, assign/delegate, comments, saved filters, notifications
    "task.summary": Rule(PEOPLE, "task", need="act", listing=True),
    "task.assign": Rule(PEOPLE, "task", need="act"),
    "task.delegate": Rule(PEOPLE, "task", need="act"),
    "task.colleagues": Rule(PEOPLE, "task", need="act"),
    "task.comments": Rule(PEOPLE, "task"),
    "task.comment": Rule(PEOPLE, "task"),
    "instance.comments": Rule(PEOPLE, "instance"),
    "instance.comment": Rule(PEOPLE, "instance"),
    "filter.list": Rule(PEOPLE),
    "filter.save": Rule(PEOPLE),
    "notification.list": Rule(PEOPLE),
    "notification.read": Rule(PEOPLE),
    "migration.list": Rule(DESIGNERS, "migration", listing=True),
    "migration.read": Rule(DESIGNERS, "migration"),
    "migration.create": Rule(DESIGNERS, "migration"),
    "analytics.read": Rule(frozenset(BUREAU_ROLES), "analytics"),
    "analytics.export": Rule(frozenset(BUREAU_ROLES), "analytics"),
    # pages (web/ui): which roles each page is for; the data inside follow the API's rules
    "page.inbox": Rule(PEOPLE - {"auditor"}),
    "page.instances": Rule(PEOPLE - {"expert"}),
    "page.alarms": Rule(STAFF),
    "page.designer": Rule(DESIGNERS),
    "page.start": Rule(PEOPLE - {"auditor", "expert"}),
    "page.sign_in": Rule(PEOPLE),
    # data import from the districts' systems (processes/importing), and the sites' map
    "import.run": Rule(frozenset({"admin"})),
    "import.list": Rule(frozenset({"admin"}), listing=True),
    "import.template": Rule(frozenset({"admin"})),
    "import.report": Rule(frozenset({"admin"})),
    "project.read": Rule(PEOPLE, "project"),
    "project.locate": Rule(frozenset({"admin", "inspector"}), "project", need="act"),
    "map.sites": Rule(STAFF, "project", listing=True),
    "page.map": Rule(STAFF),
    "page.project": Rule(PEOPLE),
    "page.imports": Rule(frozenset({"admin"})),
    "page.migrations": Rule(DESIGNERS),
    "page.analytics": Rule(frozenset(BUREAU_ROLES)),
}

# The navigation of the pages: (path, label, action that shows it).
NAV = (("/inbox", "我的待办", "page.inbox"), ("/start", "发起流程", "page.start"),
       ("/instances", "流程实例", "page.instances"),
       ("/dashboard", "监管驾驶舱", "dashboard.read"), ("/alarms", "设备告警", "page.alarms"),
       ("/designer", "流程设计", "page.designer"), ("/audit", "审计追溯", "audit.search"),
       ("/map", "一张图", "page.map"), ("/imports", "数据导入", "page.imports"),
       ("/migrations", "实例迁移", "page.migrations"), ("/analytics", "流程分析", "page.analytics"))
HOME = {"designer": "/designer", "leader": "/dashboard", "auditor": "/audit"}


def actions_of(role: str) -> list[str]:
    """The actions a role may take (on objects within its reach)."""
    return sorted(a for a, r in ACTIONS.items() if r.roles is None or role in r.roles)


def rule(action: str) -> Rule:
    try:
        return ACTIONS[action]
    except KeyError:
        raise LookupError(f"no rule for action {action!r}: add it to processes.policy") from None


def allows(principal: Principal | None, action: str) -> bool:
    """The role part of the rule (scope is checked on the object)."""
    roles = rule(action).roles
    return roles is None or (principal is not None and principal.role in roles)


def require(principal: Principal, action: str) -> None:
    if not allows(principal, action):
        raise Forbidden(_("角色 {role_name_role} 无权执行此操作").format(
                            role_name_role=role_name(principal.role), role=principal.role,
                            action=action))


def role_name(role: str) -> str:
    return ROLE_NAMES.get(role, role)


def nav_for(principal: Principal | None) -> list[tuple[str, str]]:
    return [(path, label) for path, label, action in NAV if allows(principal, action)] \
        if principal is not None else []


def home_of(principal: Principal) -> str:
    return HOME.get(principal.role, "/inbox")


# -- lanes ---------------------------------------------------------------------------------------

def role_of_lane(lane: str | None) -> str | None:
    """The role whose members work a lane's tasks; a lane we cannot map stays admin-only."""
    if not lane:
        return None
    return _LANE_TO_ROLE.get(lane.strip().lower())


def scope_of(business_key: str | None, variables: dict) -> str | None:
    code = business_key or (variables or {}).get("project_code")
    return str(code) if code else None


def reassign_lanes(conn) -> int:
    """Open tasks get their role again from their lane (the lane map changed when the builder
    role came: 建设单位 lanes were the contractor's). Run by `flask setup`."""
    changed = 0
    lanes = conn.execute(select(tasks.c.lane).where(tasks.c.state == "open",
                                                    tasks.c.lane.is_not(None)).distinct())
    for lane in list(lanes.scalars()):
        role = role_of_lane(lane)
        changed += conn.execute(update(tasks).where(
            tasks.c.state == "open", tasks.c.lane == lane, tasks.c.role.is_distinct_from(role))
            .values(role=role)).rowcount
    return changed
