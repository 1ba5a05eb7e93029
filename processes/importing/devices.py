"""监测设备: site devices by the id they publish under (the MQTT topic's)."""
from __future__ import annotations

import re

from ..schema import cranes, devices, projects
from .common import Field, Row
from .records import TableKind, check_references

TYPES = {"扬尘监测": "dust", "扬尘": "dust", "深基坑监测": "pit", "深基坑": "pit",
         "塔吊黑匣子": "crane", "塔吊监控": "crane", "视频监控": "video", "视频": "video"}
# the id is a segment of the device's MQTT topic: no '/', '+', '#' or spaces
TOPIC_SAFE = re.compile(r"^[A-Za-z0-9_.:-]+$")


class Devices(TableKind):
    name, label, key = "devices", "监测设备", "id"
    table = devices
    defaults = {"state": "online", "latest": {}, "alarm_state": {}}
    fields = (
        Field("id", "设备编号", required=True, max_len=80, aliases=("设备号", "设备ID")),
        Field("project_code", "项目编号", required=True, max_len=50, aliases=("工程编号",)),
        Field("device_type", "设备类型", required=True, type="choice", choices=TYPES,
              aliases=("类型",)),
        Field("name", "设备名称", required=True, aliases=("名称",)),
        Field("crane_id", "所在塔吊编号", max_len=80, aliases=("塔吊编号",)),
    )
    notes = ("设备编号即设备上报的 MQTT 主题中的编号, 只能包含字母、数字、下划线、点、冒号和短横线。",
             "项目须已导入; 塔吊黑匣子填写所在塔吊的备案编号。")

    def check(self, conn, rows: list[Row]) -> None:
        for row in rows:
            if row.key and not TOPIC_SAFE.match(row.key):
                row.errors.append(f"设备编号 {row.key} 含有不允许的字符")
        check_references(conn, rows, {"project_code": (projects.c.code, "项目"),
                                      "crane_id": (cranes.c.id, "塔吊")})
