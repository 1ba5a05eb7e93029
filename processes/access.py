"""Who may see and do what: roles, BPMN lanes and data scope.

Bureau staff see the projects of their district (all of them when they have none). Enterprise
staff see the projects where their enterprise is the builder, contractor or supervising firm.
An instance belongs to the project named by its business key or its `project_code` variable;
one with no project is visible to bureau staff only.
"""
from __future__ import annotations

from sqlalchemy import and_, false, or_, select, true

from engine.schema import instances, tasks

from .people import Principal
from .schema import projects

# Lane names a designer may use for each role (English role names work as they are).
LANE_ROLES = {
    "inspector": ("监督员", "监督站", "监督人员", "质量安全监督站", "监督机构", "inspector"),
    "contractor": ("施工单位", "施工总包", "总包单位", "施工方", "安装单位", "产权单位",
                   "使用单位", "建设单位", "contractor"),
    "supervisor": ("监理", "监理单位", "监理工程师", "总监", "supervisor"),
    "expert": ("专家", "评审专家", "expert"),
    "leader": ("领导", "区住建局", "住建局", "局领导", "leader"),
    "designer": ("流程设计", "designer"),
    "auditor": ("审计", "auditor"),
    "admin": ("管理员", "admin"),
}
_LANE_TO_ROLE = {name.lower(): role for role, names in LANE_ROLES.items() for name in names}

READ_ALL_ROLES = ("admin", "designer", "inspector", "leader", "auditor")


def role_of_lane(lane: str | None) -> str | None:
    """The role whose members work a lane's tasks; a lane we cannot map stays admin-only."""
    if not lane:
        return None
    return _LANE_TO_ROLE.get(lane.strip().lower())


def scope_of(business_key: str | None, variables: dict) -> str | None:
    code = business_key or (variables or {}).get("project_code")
    return str(code) if code else None


def _enterprise_projects(principal: Principal):
    code = principal.enterprise_code
    column = {"contractor": projects.c.contractor_code,
              "supervisor": projects.c.supervisor_code}.get(principal.role)
    if column is None or not code:
        return None
    # builder staff sign in with the contractor role of their own enterprise
    return select(projects.c.code).where(or_(column == code, projects.c.builder_code == code))


def _district_projects(principal: Principal):
    return select(projects.c.code).where(projects.c.district == principal.district)


def instance_clause(principal: Principal, scope_column=instances.c.scope_key):
    """SQL condition on a scope_key column: the rows this principal may read."""
    if principal.role == "gateway":
        return false()
    if principal.role in READ_ALL_ROLES:
        if principal.district is None or principal.role == "admin":
            return true()
        return or_(scope_column.is_(None), scope_column.in_(_district_projects(principal)))
    if principal.role == "expert":
        mine = select(tasks.c.instance_id).where(tasks.c.assignee == principal.username)
        return instances.c.id.in_(mine) if scope_column is instances.c.scope_key else \
            scope_column.in_(select(instances.c.scope_key).where(instances.c.id.in_(mine)))
    enterprise = _enterprise_projects(principal)
    return scope_column.in_(enterprise) if enterprise is not None else false()


def task_clause(principal: Principal):
    """SQL condition on tasks: the open tasks this principal may act on (the inbox)."""
    if principal.role == "admin":
        return true()
    if principal.role == "expert":
        return and_(tasks.c.role == "expert", tasks.c.assignee == principal.username)
    return and_(tasks.c.role == principal.role, instance_clause(principal, tasks.c.scope_key))


def task_scopes(conn, principal: Principal) -> list[str | None] | None:
    """The same rule as task_clause, as the list of project codes (None: tasks of no project)
    whose open tasks of its role the principal acts on; None where the rule is not such a
    list (admins, experts, city-wide staff, a principal with no scope at all)."""
    if principal.role in ("admin", "expert", "gateway"):
        return None
    if principal.role in READ_ALL_ROLES:
        if principal.district is None:
            return None
        return [None, *conn.execute(_district_projects(principal)).scalars()]
    enterprise = _enterprise_projects(principal)
    return None if enterprise is None else list(conn.execute(enterprise).scalars())


def can_read_instance(conn, principal: Principal, instance_id: str) -> bool:
    row = conn.execute(select(instances.c.id).where(
        instances.c.id == instance_id, instance_clause(principal))).first()
    return row is not None


def can_act_on_task(conn, principal: Principal, task_id: str) -> bool:
    row = conn.execute(select(tasks.c.id).where(tasks.c.id == task_id,
                                                task_clause(principal))).first()
    return row is not None


def can_start(principal: Principal, start_lane: str | None) -> bool:
    if principal.role == "admin":
        return True
    role = role_of_lane(start_lane)
    if role is None:
        return principal.is_bureau and principal.role in ("inspector", "leader", "designer")
    return principal.role == role


def can_see_project(principal: Principal, project) -> bool:
    if principal.role in READ_ALL_ROLES:
        return principal.role == "admin" or principal.district in (None, project.district)
    code = principal.enterprise_code
    return bool(code) and code in (project.builder_code, project.contractor_code,
                                   project.supervisor_code)


def project_clause(principal: Principal):
    if principal.role in READ_ALL_ROLES:
        if principal.role == "admin" or principal.district is None:
            return true()
        return projects.c.district == principal.district
    code = principal.enterprise_code
    if not code:
        return false()
    return or_(projects.c.builder_code == code, projects.c.contractor_code == code,
               projects.c.supervisor_code == code)
