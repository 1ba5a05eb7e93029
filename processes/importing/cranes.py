"""起重机械: cranes by their record number (设备备案编号)."""
from __future__ import annotations

from ..schema import cranes, enterprises, projects
from .common import Field, Row
from .records import TableKind, check_references
from engine.i18n import _

STATES = {"计划进场": "planned", "使用中": "in_service", "在用": "in_service",
          "暂停使用": "suspended", "已拆除": "dismantled"}


class Cranes(TableKind):
    name, label, key = "cranes", "起重机械", "id"
    table = cranes
    defaults = {"state": "planned"}
    fields = (
        Field("id", "设备备案编号", required=True, max_len=80, aliases=("备案编号", "设备编号")),
        Field("project_code", "项目编号", required=True, max_len=50, aliases=("工程编号",)),
        Field("model", "规格型号", required=True, max_len=100, aliases=("型号",)),
        Field("owner_code", "产权单位信用代码", max_len=50, aliases=("产权单位代码",)),
        Field("installer_code", "安装单位信用代码", max_len=50, aliases=("安装单位代码",)),
        Field("filing_no", "产权备案编号", max_len=50),
        Field("capacity_kn", _("额定起重力矩"), type="float", bounds=(0, 100000),
              aliases=("额定起重量", "起重量")),
        Field("state", "使用状态", type="choice", choices=STATES, aliases=("状态",)),
    )
    notes = ("使用状态为 计划进场、使用中、暂停使用、已拆除 之一; 留空为计划进场。",)

    def check(self, conn, rows: list[Row]) -> None:
        check_references(conn, rows, {"project_code": (projects.c.code, "项目"),
                                      "owner_code": (enterprises.c.code, "产权单位"),
                                      "installer_code": (enterprises.c.code, "安装单位")})
