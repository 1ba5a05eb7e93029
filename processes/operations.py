"""The domain's service operations, called by name from BPMN service tasks
(`spiffworkflow:serviceTaskOperator id="..."`). Each runs in the step's transaction."""
from __future__ import annotations

import random
import secrets
import uuid
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import func, insert, select, update

from engine.db import hold_until_commit
from engine.schema import instances
from engine.services import ServiceContext, ServiceFailure, ServiceRefusal, ServiceRegistry

from . import duties, rectify
from .schema import cranes, devices, documents, enterprises, expert_draws, experts, projects, \
    score_events
from engine.i18n import _

MIN_EXPERTS = 5
CRANE_FILING_DAYS = 3          # notice: filed at least 3 days before the crane enters the site
BLACK_BOX_FRESH = timedelta(minutes=30)
DOCUMENT_KINDS = {
    "supervision_plan": ("JDJH", "监督工作计划"), "briefing_record": ("JDJD", "监督交底记录"),
    "inspection_record": ("JDJC", "监督检查记录"), "rectification_notice": ("ZGTZ", "整改通知书"),
    "stop_work_order": ("TGTZ", "局部停工整改通知书"), "resume_notice": ("FGTZ", "复工通知书"),
    "talk_notice": ("YTTZ", "约谈通知书"), "talk_record": ("YTJL", "约谈记录"),
    "crane_install_receipt": ("QZAZ", "起重机械安装告知回执"),
    "crane_registration": ("QZDJ", "起重机械使用登记证明"),
    "expert_review_report": ("ZJLZ", "专家论证报告"), "safety_assessment": ("AQPD", "安全评定结果告知书"),
    "supervision_report": ("JDBG", "工程质量安全监督报告"),
}


def _project(ctx: ServiceContext):
    code = ctx.business_key or ctx.data.get("project_code")
    row = ctx.conn.execute(select(projects).where(projects.c.code == code)).first() if code else None
    if row is None:
        raise ServiceFailure(_("流程未关联有效的工程项目: {code}").format(code=code))
    return row


def request_document(ctx: ServiceContext, kind: str, title: str | None = None,
                     refers_to: str | None = None) -> dict:
    """Number a gate's document, render and store its PDF in the step's transaction. The
    gates' service tasks are `async`: a worker runs this, the gate waits for it, and a
    rendering failure is retried, then an incident (nothing half-issued is left behind).
    `refers_to`: the number of an earlier document this one follows up (a new rectification
    notice after a failed re-check names the first); the template prints it."""
    if kind not in DOCUMENT_KINDS:
        raise ServiceFailure(_("未知的文书种类 '{kind}'").format(kind=kind))
    label = DOCUMENT_KINDS[kind][1]
    number = next_number(ctx.conn, kind, ctx.now.year)
    variables = dict(ctx.data)
    variables.pop("refers_to", None)        # only the gate that names one refers to anything
    if refers_to:
        variables["refers_to"] = str(refers_to)[:100]
    doc = SimpleNamespace(
        id=str(uuid.uuid4()), instance_id=ctx.instance_id, kind=kind, number=number,
        title=title or label, replaces=None, created_at=ctx.now,
        data={"element_id": ctx.element_id, "variables": variables})
    from .documents import issue_in      # documents imports this module's kinds
    try:   # rendered before anything is written: a failure leaves no row and no used number
        issued = issue_in(ctx.conn, ctx.now, ctx.record or (lambda kind, **d: None), doc)
    except Exception as exc:             # noqa: BLE001 - the incident text names the cause
        raise ServiceFailure(_("文书生成失败: {number}: {name}: {exc}").format(
                                 number=number, name=type(exc).__name__, exc=exc)) from exc
    return {"id": doc.id, "number": number, "kind": kind, "title": doc.title,
            "sha256": issued["sha256"], "verify_code": issued["verify_code"]}


def next_number(conn, kind: str, year: int) -> str:
    """The next number of a kind in a year. Concurrent gates of one kind wait here for each
    other until commit: the number is printed in the PDF, so it is taken before rendering,
    and two renders that both counted the same documents would collide and render again."""
    prefix = DOCUMENT_KINDS[kind][0]
    hold_until_commit(conn, f"document-number:{kind}:{year}")
    count = conn.execute(select(func.count()).select_from(documents).where(
        documents.c.kind == kind, documents.c.number.like(f"{prefix}-{year}-%"))).scalar_one()
    return f"{prefix}-{year}-{count + 1:05d}"


def check_crane_entry(ctx: ServiceContext, planned_entry_date: str | None = None) -> dict:
    """Refuses a filing made less than three days before the crane enters the site. Reads
    `planned_entry_date` from the instance when no parameter names it, so a start without it
    is refused in Chinese instead of failing on an undefined name."""
    entry, today = rectify.service_date(
        ctx, "planned_entry_date", planned_entry_date,
        _("缺少计划进场日期, 无法核验备案时限"),
        _("计划进场日期无效"))
    days = (entry - today).days
    if days < CRANE_FILING_DAYS:
        raise ServiceRefusal(_("起重机械应在进场前至少 {CRANE_FILING_DAYS} 天备案, 距计划进场仅 {days} 天").format(
                                 CRANE_FILING_DAYS=CRANE_FILING_DAYS, days=days))
    return {"days_before_entry": days}


def black_box_status(ctx: ServiceContext, crane_id: str) -> dict:
    """Whether the crane's black box has reported recently: no data, no entry."""
    box = ctx.conn.execute(select(devices).where(devices.c.crane_id == crane_id,
                                                 devices.c.device_type == "crane")).first()
    if box is None or box.last_seen_at is None:
        return {"online": False, "reason": _("黑匣子未接入平台")}
    seen = box.last_seen_at if box.last_seen_at.tzinfo else box.last_seen_at.replace(
        tzinfo=ctx.now.tzinfo)
    online = ctx.now - seen <= BLACK_BOX_FRESH and box.state != "offline"
    return {"online": online, "device_id": box.id, "last_seen_at": seen.isoformat(),
            "reason": None if online else _("黑匣子数据中断")}


def set_crane_state(ctx: ServiceContext, crane_id: str, state: str) -> str:
    changed = ctx.conn.execute(update(cranes).where(cranes.c.id == crane_id).values(state=state))
    if changed.rowcount == 0:
        raise ServiceFailure(_("起重机械 {crane_id} 未登记").format(crane_id=crane_id))
    return state


def draw_experts(ctx: ServiceContext, specialty: str, count: int = MIN_EXPERTS,
                 exclude: list | None = None) -> list[dict]:
    """Random draw from the expert library: specialty matches, nobody employed by a party to
    the project, nobody drawn before for this review. Seed and candidates are kept for audit."""
    project = _project(ctx)
    count = max(int(count), 1)
    parties = {c for c in (project.builder_code, project.contractor_code,
                           project.supervisor_code) if c}
    before = {str(u) for u in (exclude or [])}
    rows = ctx.conn.execute(select(experts).where(experts.c.specialty == specialty,
                                                  experts.c.active.is_(True))
                            .order_by(experts.c.username)).all()
    excluded = {r.username: _("参建单位人员")
                for r in rows if r.employer_code in parties}
    excluded.update({u: _("已抽取过") for u in before})
    candidates = [r for r in rows if r.username not in excluded]
    if len(candidates) < count:
        raise ServiceFailure(_("专业 '{specialty}' 可抽取专家不足 {count} 人: {len_candidates}").format(
                                 specialty=specialty, count=count, len_candidates=len(candidates)))
    seed = secrets.token_hex(16)
    chosen = random.Random(seed).sample(candidates, count)
    picked = [{"username": r.username, "name": r.name, "employer": r.employer,
               "title": r.title, "specialty": r.specialty} for r in chosen]
    ctx.conn.execute(insert(expert_draws).values(
        instance_id=ctx.instance_id, project_code=project.code, specialty=specialty, seed=seed,
        candidates=[r.username for r in candidates], excluded=excluded,
        chosen=[p["username"] for p in picked], drawn_at=ctx.now))
    return picked


def record_score(ctx: ServiceContext, item: str, points: int, party: str = "contractor") -> dict:
    """Violation points against a project party; the enterprise total is what the talk rules read."""
    project = _project(ctx)
    code = {"contractor": project.contractor_code, "supervisor": project.supervisor_code,
            "builder": project.builder_code}.get(party)
    if not code:
        raise ServiceFailure(_("未知的记分对象 '{party}'").format(party=party))
    points = int(points or 0)
    ctx.conn.execute(insert(score_events).values(
        enterprise_code=code, project_code=project.code, instance_id=ctx.instance_id,
        item=str(item)[:300], points=points, at=ctx.now))
    ctx.conn.execute(update(enterprises).where(enterprises.c.code == code)
                     .values(score=enterprises.c.score + points))
    total = ctx.conn.execute(select(enterprises.c.score).where(enterprises.c.code == code)).scalar()
    return {"enterprise_code": code, "points": points, "total": total or 0}


def score_total(ctx: ServiceContext, party: str = "contractor") -> int:
    """A project party's violation points so far (what the warning-talk rules read)."""
    project = _project(ctx)
    code = {"contractor": project.contractor_code, "supervisor": project.supervisor_code,
            "builder": project.builder_code}.get(party)
    if not code:
        raise ServiceFailure(_("未知的记分对象 '{party}'").format(party=party))
    return int(ctx.conn.execute(select(func.coalesce(func.sum(score_events.c.points), 0))
                                .where(score_events.c.enterprise_code == code)).scalar_one())


def closing_precheck(ctx: ServiceContext) -> dict:
    """竣前检查: rectifications closed, cranes dismantled, dangerous works reviewed and accepted,
    deep-pit monitoring ended."""
    project = _project(ctx)
    open_items = []
    running = ctx.conn.execute(select(instances.c.process_key, func.count()).where(
        instances.c.scope_key == project.code, instances.c.state.in_(("running", "error")),
        instances.c.process_key.in_(("rectification", "expert_review", "warning_talk")))
        .group_by(instances.c.process_key)).all()
    labels = {"rectification": "整改未闭合", "expert_review": "危大工程论证或验收未完成",
              "warning_talk": "约谈未结束"}
    open_items += [f"{labels[key]} {n} 项" for key, n in running]
    standing = ctx.conn.execute(select(cranes.c.id).where(
        cranes.c.project_code == project.code,
        cranes.c.state.notin_(("dismantled", "planned", "refused")))).scalars().all()
    open_items += [f"起重机械 {c} 未拆卸注销" for c in standing]
    monitoring = ctx.conn.execute(select(devices.c.id).where(
        devices.c.project_code == project.code, devices.c.device_type == "pit",
        devices.c.state.notin_(("ended", "removed")))).scalars().all()
    open_items += [f"深基坑监测 {d} 未结束" for d in monitoring]
    return {"ok": not open_items, "open_items": open_items}


def safety_grade(ctx: ServiceContext, total: float, zero_sections: int = 0) -> str:
    """JGJ 59: 优良 ≥80 with no zero-score section, 合格 70–79, otherwise 不合格."""
    total, zero_sections = float(total), int(zero_sections)
    if zero_sections > 0 or total < 70:
        return "不合格"
    return "优良" if total >= 80 else "合格"


def register(registry: ServiceRegistry) -> None:
    for name, fn in {
        "document.request": request_document, "crane.check_entry": check_crane_entry,
        "crane.black_box": black_box_status, "crane.set_state": set_crane_state,
        "expert.draw": draw_experts, "score.record": record_score, "score.total": score_total,
        "closing.precheck": closing_precheck, "closing.grade": safety_grade,
        "duty.targets": duties.duty_targets, "alarm.describe": rectify.describe_alarm,
        "rectification.check_deadline": rectify.check_deadline,
    }.items():
        registry.register(name, fn)

