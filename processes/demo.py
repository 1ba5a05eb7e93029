"""Demo data for a newcomer: Foshan's five districts, enterprises, projects and one account per
role (passwords in the README). Loading twice changes nothing."""
from __future__ import annotations

from sqlalchemy import insert, select

from .people import create_user, get_user
from .schema import enterprises, projects

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
    ("gateway", "gateway", "物联网网关", None, None),
]


def load_reference(conn) -> dict:
    """Enterprises, projects and users; existing rows are left as they are."""
    counts = {"enterprises": 0, "projects": 0, "users": 0}
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
        if get_user(conn, username) is None:
            create_user(conn, username, role, DEMO_PASSWORD, district, enterprise, display)
            counts["users"] += 1
    return counts


def load(engine, echo=print) -> dict:
    with engine.unit("system:demo") as unit:
        counts = load_reference(unit.conn)
        unit.record("demo.loaded", **counts)
    return counts
