"""工程项目: projects by their code, with coordinates for the map (一张图)."""
from __future__ import annotations

from ..demo import DISTRICTS
from ..schema import enterprises, projects
from .common import Field, Row
from .records import TableKind, check_references

# Foshan and a margin: a point outside is a typo (swapped columns, a missing digit)
LNG_BOUNDS = (112.3, 113.5)
LAT_BOUNDS = (22.5, 23.6)
STATUSES = {"在建": "在建", "停工": "停工", "完工": "完工", "竣工": "竣工"}


def district_choices() -> dict[str, str]:
    return {**{d: d for d in DISTRICTS}, **{d[:-1]: d for d in DISTRICTS}}


class Projects(TableKind):
    name, label, key = "projects", "工程项目", "code"
    table = projects
    defaults = {"status": "在建", "extra": {}}
    fields = (
        Field("code", "项目编号", required=True, max_len=50, aliases=("工程编号", "项目代码")),
        Field("name", "项目名称", required=True, aliases=("工程名称",)),
        Field("district", "所属区", required=True, type="choice", choices=district_choices(),
              aliases=("行政区", "区域", "辖区")),
        Field("address", "项目地址", max_len=300, aliases=("工程地址", "地址")),
        Field("lng", "经度", type="float", bounds=LNG_BOUNDS, aliases=("longitude",)),
        Field("lat", "纬度", type="float", bounds=LAT_BOUNDS, aliases=("latitude",)),
        Field("builder_code", "建设单位信用代码", max_len=50, aliases=("建设单位代码",)),
        Field("contractor_code", "施工单位信用代码", max_len=50, aliases=("施工单位代码",)),
        Field("supervisor_code", "监理单位信用代码", max_len=50, aliases=("监理单位代码",)),
        Field("status", "项目状态", type="choice", choices=STATUSES, aliases=("状态",)),
        Field("progress", "形象进度", aliases=("进度",)),
    )
    notes = ("经度、纬度为 WGS-84 十进制度数 (如 113.106, 23.005), 两者同时填写或同时留空。",
             "建设、施工、监理单位须已导入 (企业模板)。")

    def check(self, conn, rows: list[Row]) -> None:
        for row in rows:
            if (row.values.get("lng") is None) != (row.values.get("lat") is None) and (
                    "lng" in row.values and "lat" in row.values):
                row.errors.append("经度与纬度须同时填写")
        check_references(conn, rows, {
            "builder_code": (enterprises.c.code, "建设单位"),
            "contractor_code": (enterprises.c.code, "施工单位"),
            "supervisor_code": (enterprises.c.code, "监理单位")})
