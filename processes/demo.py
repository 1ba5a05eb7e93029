"""Demo data for a newcomer: Foshan's five districts, enterprises, projects and one account per
role (passwords in the README). Loading twice changes nothing."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import func, insert, select, update
from werkzeug.security import generate_password_hash

from engine.clock import utcnow

from .people import create_user, get_user
from .schema import cranes, devices, enterprises, experts, projects, users

DISTRICTS = ("禅城区", "南海区", "顺德区", "高明区", "三水区")
DEMO_PASSWORD = "jianguan123"

ENTERPRISES = [
    ("91440600BLD001", "佛山市城建投资有限公司", "builder"),
    ("91440600BLD002", "佛山市南海置业有限公司", "builder"),
    ("91440600BLD003", "顺德区美的置业有限公司", "builder"),
    ("91440600CON001", "广东建工集团有限公司", "contractor"),
    ("91440600CON002", "中建三局第一建设工程有限公司", "contractor"),
    ("91440600CON003", "佛山市第一建筑工程有限公司", "contractor"),
    ("91440600CON004", "广州市第二建筑工程有限公司", "contractor"),
    ("91440600SUP001", "广东华南建设监理有限公司", "supervisor"),
    ("91440600SUP002", "佛山市建设工程监理有限公司", "supervisor"),
    ("91440600SUP003", "广州宏达工程顾问集团有限公司", "supervisor"),
    ("91440600INS001", "佛山市建安起重设备安装有限公司", "installer"),
]

# code, name, district, address, lat, lng, builder, contractor, supervisor, progress
PROJECTS = [
    ("FS-CC-2026-001", "禅城区季华路商业综合体", "禅城区", "季华五路与华宝南路交汇处", 23.005, 113.106,
     "91440600BLD001", "91440600CON001", "91440600SUP001", "主体结构施工至18层"),
    ("FS-CC-2026-002", "禅城区绿景路保障性住房", "禅城区", "绿景三路12号", 23.021, 113.098,
     "91440600BLD001", "91440600CON003", "91440600SUP002", "基坑开挖"),
    ("FS-CC-2026-003", "佛山市第一人民医院扩建", "禅城区", "岭南大道北81号", 23.034, 113.113,
     "91440600BLD001", "91440600CON002", "91440600SUP003", "地下室施工"),
    ("FS-NH-2026-001", "南海区千灯湖金融中心", "南海区", "桂城街道灯湖东路", 23.048, 113.151,
     "91440600BLD002", "91440600CON002", "91440600SUP001", "深基坑支护"),
    ("FS-NH-2026-002", "南海区狮山产业园厂房", "南海区", "狮山镇科技大道", 23.135, 113.017,
     "91440600BLD002", "91440600CON004", "91440600SUP002", "钢结构吊装"),
    ("FS-NH-2026-003", "南海区大沥地铁上盖住宅", "南海区", "大沥镇广佛路", 23.112, 113.124,
     "91440600BLD002", "91440600CON001", "91440600SUP003", "主体结构施工至9层"),
    ("FS-SD-2026-001", "顺德区北滘总部大楼", "顺德区", "北滘镇美的大道", 22.923, 113.204,
     "91440600BLD003", "91440600CON002", "91440600SUP001", "塔吊安装"),
    ("FS-SD-2026-002", "顺德区大良学校新校区", "顺德区", "大良街道德胜东路", 22.840, 113.262,
     "91440600BLD003", "91440600CON003", "91440600SUP002", "装饰装修"),
    ("FS-SD-2026-003", "顺德区容桂滨江住宅", "顺德区", "容桂街道容奇大道", 22.772, 113.280,
     "91440600BLD003", "91440600CON004", "91440600SUP003", "基础施工"),
    ("FS-GM-2026-001", "高明区荷城体育中心", "高明区", "荷城街道沧江路", 22.896, 112.892,
     "91440600BLD001", "91440600CON001", "91440600SUP002", "网架结构施工"),
    ("FS-GM-2026-002", "高明区明城镇污水处理厂", "高明区", "明城镇工业大道", 22.958, 112.732,
     "91440600BLD001", "91440600CON004", "91440600SUP001", "设备安装"),
    ("FS-SS-2026-001", "三水区西南街道安置房", "三水区", "西南街道健力宝南路", 23.164, 112.896,
     "91440600BLD002", "91440600CON003", "91440600SUP003", "主体结构封顶"),
]

# username, role, display name, district, enterprise
USERS = [
    ("admin", "admin", "系统管理员", None, None),
    ("designer", "designer", "流程设计员", None, None),
    ("leader", "leader", "市住建局分管领导", None, None),
    ("auditor", "auditor", "审计员", None, None),
    ("inspector_cc", "inspector", "张监督(禅城)", "禅城区", None),
    ("inspector_nh", "inspector", "李监督(南海)", "南海区", None),
    ("inspector_sd", "inspector", "陈监督(顺德)", "顺德区", None),
    ("inspector_gm", "inspector", "黄监督(高明)", "高明区", None),
    ("inspector_ss", "inspector", "梁监督(三水)", "三水区", None),
    ("leader_cc", "leader", "禅城区住建局领导", "禅城区", None),
    ("contractor_gdjg", "contractor", "广东建工项目部", None, "91440600CON001"),
    ("contractor_zj3", "contractor", "中建三局项目部", None, "91440600CON002"),
    ("contractor_fs1", "contractor", "佛山一建项目部", None, "91440600CON003"),
    ("contractor_gz2", "contractor", "广州二建项目部", None, "91440600CON004"),
    ("supervisor_hn", "supervisor", "华南监理总监", None, "91440600SUP001"),
    ("supervisor_fs", "supervisor", "佛山监理总监", None, "91440600SUP002"),
    ("supervisor_hd", "supervisor", "宏达监理总监", None, "91440600SUP003"),
    ("builder_fscj", "builder", "佛山城投项目负责人(建设单位)", None, "91440600BLD001"),
    ("gateway", "gateway", "物联网网关", None, None),
]


SPECIALTIES = {"深基坑": 10, "模板支撑": 7, "起重吊装": 7, "脚手架": 6, "钢结构": 6}
EXPERT_EMPLOYERS = (
    ("EXP-SCUT", "华南理工大学土木与交通学院"), ("EXP-GDADRI", "广东省建筑设计研究院有限公司"),
    ("EXP-FSDI", "佛山市建筑设计院股份有限公司"), ("EXP-GZU", "广州大学土木工程学院"),
    ("EXP-GDJK", "广东省建筑科学研究院集团股份有限公司"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ("建国", "志强", "海涛", "伟", "晓东", "国华", "文斌", "振宇", "立新", "明")
TITLES = ("正高级工程师", "高级工程师", "教授级高级工程师", "教授")


def _experts() -> list[tuple]:
    """Deterministic expert library; the first two of each specialty work for project parties
    (contractor CON001, supervisor SUP001), so the conflict rule has someone to exclude."""
    rows, n = [], 0
    for specialty, size in SPECIALTIES.items():
        for i in range(size):
            if i == 0:
                employer = ("91440600CON001", "广东建工集团有限公司")
            elif i == 1:
                employer = ("91440600SUP001", "广东华南建设监理有限公司")
            else:
                employer = EXPERT_EMPLOYERS[n % len(EXPERT_EMPLOYERS)]
            name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
            rows.append((f"expert{n + 1:02d}", name, employer[0], employer[1],
                         TITLES[n % len(TITLES)], specialty))
            n += 1
    return rows


# Devices per project: dust and video everywhere, pit and crane black boxes where work needs them.
CRANES = (("QZ-CC001-01", "FS-CC-2026-001", "QTZ125(TC6015)", 60.0),
          ("QZ-NH002-01", "FS-NH-2026-002", "QTZ80(TC5610)", 50.0),
          ("QZ-SD001-01", "FS-SD-2026-001", "QTZ160(TC6517)", 80.0))
PIT_PROJECTS = ("FS-CC-2026-002", "FS-NH-2026-001", "FS-SD-2026-003")


# Demo accounts share a published password, but each gets its own salt (werkzeug salts every
# hash), so their stored hashes differ and do not tell which accounts share a password.
# PBKDF2 at a moderate count rather than the default scrypt: 55 accounts hash in a fraction of
# a second (the tests load them for every case); accounts made with create-user or whose
# password is set later use the default. Kept per user and process (tests reload often).
DEMO_HASH_METHOD = "pbkdf2:sha256:10000"


@lru_cache(maxsize=None)
def _demo_hash(username: str) -> str:
    return generate_password_hash(DEMO_PASSWORD, method=DEMO_HASH_METHOD)


# accounts only the demo creates: their presence means the demo password is in use
DEMO_ONLY = ("inspector_cc", "contractor_gdjg", "supervisor_hn", "expert01")


def demo_users_present(conn) -> bool:
    return conn.execute(select(users.c.id).where(users.c.username.in_(DEMO_ONLY),
                                                 users.c.active.is_(True)).limit(1)).first() \
        is not None


def has_users(conn) -> int:
    """How many users the database holds (load-demo asks before writing into it)."""
    return conn.execute(select(func.count()).select_from(users)).scalar_one()


def load_sites(conn, now) -> dict:
    counts = {"experts": 0, "devices": 0, "cranes": 0}
    have = {r.code for r in conn.execute(select(enterprises.c.code))}
    for code, name in EXPERT_EMPLOYERS:
        if code not in have:
            conn.execute(insert(enterprises).values(code=code, name=name, kind="expert_employer",
                                                    score=0))
    known = set(conn.execute(select(experts.c.username)).scalars())
    for username, name, employer_code, employer, title, specialty in _experts():
        if username in known:
            continue
        if get_user(conn, username) is None:
            create_user(conn, username, "expert", DEMO_PASSWORD, None, employer_code,
                        f"{name}(专家)", password_hash=_demo_hash(username))
        conn.execute(insert(experts).values(username=username, name=name,
                                            employer_code=employer_code, employer=employer,
                                            title=title, specialty=specialty, active=True))
        counts["experts"] += 1
    have_cranes = set(conn.execute(select(cranes.c.id)).scalars())
    have_devices = set(conn.execute(select(devices.c.id)).scalars())
    wanted = []
    for code, *_ in PROJECTS:
        short = code.replace("FS-", "").replace("-2026-", "")
        wanted.append((f"DUST-{short}", code, "dust", "扬尘监测仪", None))
        wanted.append((f"VIDEO-{short}", code, "video", "视频监控", None))
        if code in PIT_PROJECTS:
            wanted.append((f"PIT-{short}", code, "pit", "深基坑监测站", None))
    for crane_id, code, model, capacity in CRANES:
        if crane_id not in have_cranes:
            conn.execute(insert(cranes).values(
                id=crane_id, project_code=code, model=model, owner_code="91440600INS001",
                installer_code="91440600INS001", capacity_kn=capacity, state="planned"))
            counts["cranes"] += 1
        wanted.append((f"BOX-{crane_id}", code, "crane", f"塔吊黑匣子 {model}", crane_id))
    for device_id, code, kind, name, crane_id in wanted:
        if device_id not in have_devices:
            conn.execute(insert(devices).values(
                id=device_id, project_code=code, device_type=kind, name=name, crane_id=crane_id,
                state="online", last_seen_at=now, latest={}))
            counts["devices"] += 1
    return counts


def load_reference(conn) -> dict:
    """Enterprises, projects and users; existing rows are left as they are."""
    from .thresholds import load_defaults

    counts = {"enterprises": 0, "projects": 0, "users": 0,
              "thresholds": load_defaults(conn)}
    have = {r.code for r in conn.execute(select(enterprises.c.code))}
    for code, name, kind in ENTERPRISES:
        if code not in have:
            conn.execute(insert(enterprises).values(code=code, name=name, kind=kind, score=0))
            counts["enterprises"] += 1
    have = {r.code for r in conn.execute(select(projects.c.code))}
    for code, name, district, address, lat, lng, bld, con, sup, progress in PROJECTS:
        if code not in have:
            conn.execute(insert(projects).values(
                code=code, name=name, district=district, address=address, lat=lat, lng=lng,
                builder_code=bld, contractor_code=con, supervisor_code=sup, status="在建",
                progress=progress, extra={}))
            counts["projects"] += 1
    for username, role, display, district, enterprise in USERS:
        existing = get_user(conn, username)
        if existing is None:
            create_user(conn, username, role, DEMO_PASSWORD, district, enterprise, display,
                        password_hash=_demo_hash(username))
            counts["users"] += 1
        elif existing.role != role:       # a demo account whose role changed (builder_fscj)
            conn.execute(update(users).where(users.c.id == existing.id).values(role=role))
    counts.update(load_sites(conn, utcnow()))
    return counts


def load(engine, echo=print) -> dict:
    """Reference data, then the bundled processes (bpmn/, forms/)."""
    from .bundled import deploy_bundled

    with engine.unit("system:demo") as unit:
        counts = load_reference(unit.conn)
        unit.record("demo.loaded", **counts)
    from .demo_flight import start_examples

    deployed = deploy_bundled(engine, actor="system:demo")
    counts["definitions"] = len(deployed)
    counts["instances"] = start_examples(engine)
    return counts
