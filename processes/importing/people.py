"""人员: accounts by username. A password given is hashed once per distinct value (districts
hand out one initial password); an account without one cannot sign in until an admin sets it
(`flask create-user NAME --role ... --password ...` replaces it). Re-importing never changes a
password."""
from __future__ import annotations

import re
from functools import lru_cache

from werkzeug.security import generate_password_hash

from ..demo import DISTRICTS
from ..policy import BUREAU_ROLES, ENTERPRISE_COLUMNS, ROLE_NAMES
from ..schema import enterprises, users
from .common import Field, Row
from .records import TableKind, check_references

# accounts with a platform-wide reach are made on the command line, not from a district's file
IMPORTABLE = {name: role for role, name in ROLE_NAMES.items() if role not in ("admin", "gateway")}
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
NO_PASSWORD = "!"                     # never a valid hash: check_password_hash is False


@lru_cache(maxsize=64)
def _hash(password: str) -> str:
    return generate_password_hash(password)


class People(TableKind):
    name, label, key = "people", "人员", "username"
    table = users
    fields = (
        Field("username", "登录账号", required=True, max_len=100, aliases=("账号", "用户名")),
        Field("display_name", "姓名", required=True, max_len=100, aliases=("名称",)),
        Field("role", "角色", required=True, type="choice", choices=IMPORTABLE),
        Field("district", "所属区", type="choice",
              choices={**{d: d for d in DISTRICTS}, **{d[:-1]: d for d in DISTRICTS}},
              aliases=("辖区",)),
        Field("enterprise_code", "所属企业信用代码", max_len=50, aliases=("企业信用代码",)),
        Field("password", "初始密码", max_len=100, aliases=("密码",)),
    )
    notes = ("角色为 " + "、".join(IMPORTABLE) + " 之一; 系统管理员须在命令行创建。",
             "监督员、领导等局内人员须填写所属区; 施工、监理、建设单位人员须填写所属企业信用代码 (企业须已导入)。",
             "初始密码至少 6 位; 留空则账号在管理员设置密码前无法登录。再次导入不会修改已有账号的密码。")

    def updatable(self) -> list[str]:
        return ["display_name", "role", "district", "enterprise_code"]

    def new_values(self, row: Row) -> dict:
        from engine.clock import utcnow

        password = row.values.get("password")
        return {"username": row.key, "display_name": row.values["display_name"],
                "role": row.values["role"], "district": row.values.get("district"),
                "enterprise_code": row.values.get("enterprise_code"), "active": True,
                "password_hash": _hash(password) if password else NO_PASSWORD,
                "created_at": utcnow()}

    def check(self, conn, rows: list[Row]) -> None:
        for row in rows:
            if row.key and not USERNAME.match(row.key):
                row.errors.append("登录账号只能包含字母、数字、下划线、点和短横线")
            if row.values.get("role") in ENTERPRISE_COLUMNS and not row.values.get(
                    "enterprise_code"):
                row.errors.append("企业人员须填写所属企业信用代码")
            # bureau staff without a district see the whole city: not from a district's file
            if row.values.get("role") in BUREAU_ROLES and not row.values.get("district"):
                row.errors.append("监督机构人员须填写所属区 (全市范围的账号请用命令行创建)")
            password = row.values.get("password")
            if password and len(password) < 6:
                row.errors.append("初始密码至少 6 位")
        check_references(conn, rows, {"enterprise_code": (enterprises.c.code, "企业")})
