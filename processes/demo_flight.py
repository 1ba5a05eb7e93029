"""A few instances in flight at different steps, so a newcomer's inbox is not empty."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import instances, tasks
from engine.clock import utcnow
from engine.errors import EngineError
from engine.schema import definitions
from engine.schema import instances as instance_rows
from engine.schema import tasks as task_rows
from engine.timers import JobPostponed, fire_instance


def _in_days(days: int) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


def examples() -> list[tuple]:
    """(process, project, starter, variables, [(step, actor, form data), ...])."""
    return [
        ("rectification", "FS-CC-2026-001", "inspector_cc", {}, [
            ("rect_notice", "inspector_cc", {
                "rect_location": "3号楼外脚手架 (北立面 8~12 层)",
                "rect_issue": "连墙件缺失, 立杆悬空", "rect_clause": "JGJ 130-2011 第6.4.1条",
                "stop_work": False,
                "rect_requirement": "按专项方案补设连墙件, 立杆落地并设置扫地杆",
                "deadline": _in_days(3)})]),
        ("rectification", "FS-CC-2026-002", "inspector_cc", {}, []),
        ("inspection", "FS-CC-2026-003", "inspector_cc", {}, []),
        ("supervision_briefing", "FS-GM-2026-002", "inspector_gm", {}, []),
        ("crane_filing", "FS-SD-2026-001", "contractor_zj3",
         {"crane_id": "QZ-SD001-01", "planned_entry_date": _in_days(10)}, []),
        ("expert_review", "FS-NH-2026-001", "contractor_zj3", {}, []),
        ("closing", "FS-SS-2026-001", "contractor_fs1", {}, []),
        ("warning_talk", "FS-NH-2026-001", "inspector_nh", {}, [
            ("talk_propose", "inspector_nh", {
                "talk_reason": "整改复查不合格", "talk_summoned": "项目负责人 王工",
                "talk_evidence": "深基坑支护整改两次复查不合格"})]),
    ]


def _settle(engine, instance_id: str) -> None:
    """Runs the instance's background steps (document gates) now when no worker is woken,
    so the next step of an example finds its task open."""
    if engine.wake is not None:
        return
    try:
        fire_instance(engine, instance_id, actor="system:worker")
    except JobPostponed:
        pass


def start_examples(engine) -> int:
    """Starts each example once (none twice however often load-demo runs)."""
    started = 0
    for key, project, starter, variables, steps in examples():
        with engine.db.read() as conn:
            deployed = conn.execute(select(definitions.c.id).where(
                definitions.c.kind == "bpmn", definitions.c.key == key)).first()
            exists = conn.execute(select(instance_rows.c.id).where(
                instance_rows.c.process_key == key,
                instance_rows.c.business_key == project)).first()
        if deployed is None or exists is not None:
            continue
        try:
            with engine.unit(starter) as unit:     # as a person starts it: by its start form
                handle = instances.start(engine, unit, key, project,
                                         {"project_code": project, **variables},
                                         by_person=True)
            _settle(engine, handle.id)
            for element, actor, data in steps:
                with engine.db.read() as conn:
                    task_id = conn.execute(select(task_rows.c.id).where(
                        task_rows.c.instance_id == handle.id, task_rows.c.state == "open",
                        task_rows.c.element_id == element)).scalar()
                with engine.unit(actor) as unit:
                    tasks.complete(engine, unit, task_id, data)
                _settle(engine, handle.id)
        except EngineError:
            continue      # a diagram changed under the demo: skip that example
        started += 1
    return started
