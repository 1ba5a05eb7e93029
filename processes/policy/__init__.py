"""Who may do what, in one place: roles, the actions each may take, and the scope of each kind
of resource. The API (every endpoint declares its action), the pages and their navigation, and
the inbox query all read this package; nothing else holds a role list or a scope rule.
`rules` is the table (roles → actions, navigation, lanes); `scope` is each resource kind's scope
as SQL and the one "load it, 404, 403" check.

Scope (the "reach" of a role):
- `all`: admins see everything;
- `bureau`: bureau staff see the projects of their district and the instances of no project
  (everything when they have no district);
- `enterprise`: contractor, supervisor and builder staff see the projects where their
  enterprise is that party (`contractor_code`, `supervisor_code`, `builder_code`);
- `assigned`: an expert sees the instances of the tasks drawn for him;
- `none`: a device gateway reads nothing.
A task is acted on by its lane's role within that reach (an expert: only his own tasks; an
admin: any, marked in the audit trail). An instance belongs to the project its business key
(or `project_code` variable) names.
"""
from .rules import (  # noqa: F401  (the package's public names)
    ROLES, ROLE_NAMES, BUREAU_ROLES, ENTERPRISE_COLUMNS, REACH, LANE_ROLES, PEOPLE, STAFF,
    DESIGNERS, AUDITORS, DEVICES, Rule, ACTIONS, PUBLIC, NAV, HOME, actions_of, rule,
    allows, require, role_name, nav_for, home_of, role_of_lane, scope_of, reassign_lanes)
from .scope import (  # noqa: F401  (the package's public names)
    project_clause, in_visible_projects, instance_clause, task_clause, task_scopes,
    own_duties_only, overrides_tasks, district_of, audit_clause, load, acts_on,
    can_read_instance, can_act_on_task, may_start_lane, check_start,
    normalise_key, dead_letter_clause, threshold_clause, check_claim)
