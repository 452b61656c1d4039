"""一次性告知单: an item's complete 办事指南, printed for a citizen to take home."""

from __future__ import annotations

from reportlab.platypus import Flowable

from forms.schema import ELEMENT_LABELS, Item, Material
from reports.blocks import Cell, date_cn, gap, grid_table, info_table, note_box, numbered, para
from reports.data import GuideDoc


def _days(days: int) -> str:
    return "即办（当场办结）" if days == 0 else f"{days}个工作日"


def _element_rows(item: Item) -> list[list[tuple[str, str]]]:
    label = ELEMENT_LABELS
    return [
        [(label["name"], item.name)],
        [(label["code"], item.code), (label["item_type"], item.item_type)],
        [("事项层级", item.level_label), ("承办单位", item.handler_name or "—")],
        [(label["authority"], item.authority)],
        [(label["legal_basis"], item.legal_basis)],
        [(label["conditions"], item.conditions)],
        [(label["audience"], item.audience)],
        [
            (label["legal_limit_days"], _days(item.legal_limit_days)),
            (label["promised_limit_days"], _days(item.promised_limit_days)),
        ],
        [(label["result_name"], item.result_name)],
        [(label["result_sample"], item.result_sample or "—")],
        [(label["fee"], item.fee)],
    ]


def _service_rows(item: Item) -> list[list[tuple[str, str]]]:
    label = ELEMENT_LABELS
    return [
        [(label["channels"], item.channels)],
        [(label["review_standard"], item.review_standard)],
        [(label["location"], item.location)],
        [(label["hours"], item.hours)],
        [(label["consult"], item.consult)],
        [(label["complaint"], item.complaint)],
    ]


def _material_cells(number: int, material: Material) -> list[Cell]:
    need = "必要" if material.required else "非必要（视情形提供）"
    if material.deferrable:
        need += "；可容缺后补"
    if material.commitment_allowed:
        need += "；可告知承诺"
    copies = f"{material.copies}份" + (f"；{material.spec}" if material.spec else "")
    name: Cell = material.name
    if material.sample:
        name = [para(material.name, "cell"), para(f"示范样表：{material.sample}", "small")]
    return [str(number), name, material.form_label, copies, material.source, need]


def guide_story(data: GuideDoc) -> list[Flowable]:
    """Every element of the item's 办事指南, the materials table and the numbered process."""
    item = data.item
    rows = [_material_cells(number, m) for number, m in enumerate(item.materials, 1)]
    story: list[Flowable] = [
        para("一、事项基本信息", "heading"),
        info_table(_element_rows(item)),
        para("二、申请材料", "heading"),
        grid_table(
            ["序号", "材料名称", "形式", "份数和规格", "来源渠道", "必要性"],
            rows,
            [11, 0, 17, 36, 30, 26],
            aligns=["center", "left", "center"],
        ),
        para("三、办理流程", "heading"),
        *numbered(item.process),
        para("四、办理地点、时间与咨询投诉", "heading"),
        info_table(_service_rows(item)),
        gap(),
        note_box(
            [
                para(
                    f"本告知单由{data.organ.name}于{date_cn(data.issued_on)}打印"
                    + (f"，经办人：{data.clerk}" if data.clerk else "")
                    + "。请按上述清单一次备齐材料；"
                    + "办事指南如有调整，以窗口和政务服务网最新公布的为准。",
                    "note",
                ),
                para(f"本中心地址：{data.organ.address}；咨询电话：{data.organ.phone}。", "note"),
            ]
        ),
    ]
    return story
