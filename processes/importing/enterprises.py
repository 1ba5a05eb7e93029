"""企业: enterprises by their unified social credit code."""
from __future__ import annotations

from ..schema import enterprises
from .common import Field
from .records import TableKind

KINDS = {"建设单位": "builder", "施工单位": "contractor", "监理单位": "supervisor",
         "安装单位": "installer", "产权单位": "owner", "检测单位": "tester",
         "专家单位": "expert_employer"}


class Enterprises(TableKind):
    name, label, key = "enterprises", "企业", "code"
    table = enterprises
    defaults = {"score": 0}
    fields = (
        Field("code", "统一社会信用代码", required=True, max_len=50,
              aliases=("信用代码", "企业代码", "社会信用代码")),
        Field("name", "企业名称", required=True, aliases=("单位名称", "名称")),
        Field("kind", "企业类型", required=True, type="choice", choices=KINDS,
              aliases=("单位类型", "类型")),
    )
