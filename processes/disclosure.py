"""What of a running instance each role may read, by the instance's state.

Experts drawn for a review of dangerous works (危大工程专家论证) stay unknown to the parties of
the project - contractor, supervisor, builder, anyone outside the bureau, the experts
themselves included - until the review meeting has been held: names, employers, usernames of
the drawn and confirming experts, and who answered which confirmation. The process says when
(`panel_disclosed`, set when the meeting record is submitted, cleared by a new draw); this
module says what, and the API's read paths (instance variables, its open tasks, task data, the
history) pass what they return through it. The documents of a review name the panel only once
the panel has concluded (expert_review_report), so no document needs withholding.
"""
from __future__ import annotations

from dataclasses import dataclass
from engine.i18n import _

# Roles that may read everything of an instance in their scope (the bureau's own staff).
BUREAU_ROLES = frozenset({"admin", "designer", "inspector", "leader", "auditor"})
WITHHELD = _("论证会前不公开")


@dataclass(frozen=True)
class Seal:
    flag: str                        # the variable that lifts the seal once it is True
    variables: frozenset[str]        # what names the experts
    elements: frozenset[str]         # steps whose performer would name one
    roles: frozenset[str]            # task lanes whose assignee would name one


SEALS = {
    "expert_review": Seal(
        flag="panel_disclosed",
        variables=frozenset({"experts", "confirmed", "answers", "answer", "expert", "drawn",
                             "declined", "panel", "panel_leader"}),
        elements=frozenset({"expert_confirm", "conclusion"}),
        roles=frozenset({"expert"})),
}


def seal_for(role: str | None, process_key: str | None, variables: dict | None) -> Seal | None:
    """The seal that applies to this role on an instance in this state, or None."""
    seal = SEALS.get(process_key or "")
    if seal is None or role in BUREAU_ROLES:
        return None
    if isinstance(variables, dict) and variables.get(seal.flag) is True:
        return None
    return seal


def _withheld(value):
    # keep the count (a party may know that five experts confirmed), never who
    return [WITHHELD] * len(value) if isinstance(value, list) else WITHHELD


def visible_variables(role: str | None, process_key: str | None, variables: dict | None) -> dict:
    """The instance's (or a task's) variables as this role may read them."""
    variables = variables if isinstance(variables, dict) else {}
    seal = seal_for(role, process_key, variables)
    if seal is None:
        return variables
    return {k: _withheld(v) if k in seal.variables else v for k, v in variables.items()}


def visible_task(role: str | None, process_key: str | None, variables: dict | None,
                 task: dict) -> dict:
    """An open task as listed on its instance: an expert's task does not say whose it is."""
    seal = seal_for(role, process_key, variables)
    if seal is None or (task.get("role") not in seal.roles
                        and task.get("element_id") not in seal.elements):
        return task
    return {**task, "assignee": None}


def visible_event(role: str | None, process_key: str | None, variables: dict | None,
                  event: dict) -> dict:
    """A history event: the steps of drawn experts do not name their performer."""
    seal = seal_for(role, process_key, variables)
    details = event.get("details") if isinstance(event.get("details"), dict) else {}
    if seal is None or details.get("element_id") not in seal.elements:
        return event
    hidden = {k: WITHHELD for k in ("assignee", "previous_assignee") if k in details}
    return {**event, "actor": "专家 (论证会前不公开)", "details": {**details, **hidden}}
