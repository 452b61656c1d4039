"""Item catalog schema: stations, 办事指南 elements, materials, forms and their checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

# Station codes are stored in cases and accounts; the names are what people read.
STATIONS: dict[str, str] = {
    "jisheng": "计生（卫生计生办）",
    "nongye": "农业（农业综合服务站）",
    "nongjing": "农经（农村经营管理站）",
    "laodong": "劳动（劳动保障所）",
    "minzheng": "民政（民政办）",
    "tuiyi": "退役军人（退役军人服务站）",
}

LEVEL_LABELS: dict[str, str] = {
    "township": "便民服务事项（乡镇站办所办理）",
    "county": "政务服务事项（县级帮代办）",
}

KIND_LABELS: dict[str, str] = {"immediate": "即办件", "promised": "承诺件"}

# The categories of the 权力清单 / 公共服务清单 an item may belong to.
ITEM_TYPES: tuple[str, ...] = (
    "行政许可",
    "行政处罚",
    "行政强制",
    "行政征收",
    "行政给付",
    "行政检查",
    "行政确认",
    "行政奖励",
    "行政裁决",
    "其他行政权力",
    "公共服务",
)

MATERIAL_FORMS: tuple[str, ...] = ("原件", "复印件", "电子")

FIELD_TYPES: dict[str, str] = {
    "text": "文本",
    "int": "整数",
    "decimal": "数值",
    "date": "日期",
    "choice": "选项",
    "id_number": "居民身份证号码",
    "uscc": "统一社会信用代码",
    "phone": "电话号码",
    "bool": "是否确认",
    "textarea": "多行文本",
}

# Types whose min/max bound the value (numbers) or the length (free text).
NUMERIC_TYPES: frozenset[str] = frozenset({"int", "decimal"})
TEXT_TYPES: frozenset[str] = frozenset({"text", "textarea"})

ELEMENT_LABELS: dict[str, str] = {
    "name": "事项名称",
    "code": "事项编码",
    "item_type": "事项类型",
    "level": "事项层级",
    "station": "所属站所",
    "county_department": "县级承办部门",
    "legal_basis": "设定依据",
    "authority": "实施主体",
    "conditions": "受理条件",
    "audience": "服务对象",
    "legal_limit_days": "法定办结时限",
    "promised_limit_days": "承诺办结时限",
    "result_name": "结果名称",
    "result_sample": "结果样本",
    "fee": "收费标准及依据",
    "materials": "申请材料",
    "process": "办理流程",
    "channels": "办理形式",
    "review_standard": "审查标准",
    "location": "办理地点",
    "hours": "办理时间",
    "consult": "咨询方式",
    "complaint": "监督投诉方式",
    "form": "申请表",
    "keywords": "检索关键词",
}

MATERIAL_LABELS: dict[str, str] = {
    "name": "材料名称",
    "form": "材料形式",
    "copies": "份数",
    "spec": "规格",
    "source": "来源渠道",
    "required": "必要性",
    "deferrable": "是否容缺",
    "sample": "示范样表",
    "commitment_allowed": "告知承诺",
}

FORM_FIELD_LABELS: dict[str, str] = {
    "key": "字段标识",
    "label": "字段名称",
    "type": "字段类型",
    "required": "是否必填",
    "choices": "可选项",
    "min": "最小值或最短长度",
    "max": "最大值或最大长度",
    "pattern": "格式要求",
    "help": "填写说明",
}

CATALOG_LABELS: dict[str, str] = {
    "version": "版本号",
    "published": "发布日期",
    "county_code": "县级行政区划代码",
    "county_name": "县名称",
    "items": "事项清单",
}


@dataclass(frozen=True)
class Material:
    """One line of 申请材料 in a 办事指南."""

    name: str
    form: tuple[str, ...]
    copies: int
    spec: str
    source: str
    required: bool = True
    deferrable: bool = False
    sample: str = ""
    commitment_allowed: bool = False

    @property
    def form_label(self) -> str:
        return "、".join(self.form)


@dataclass(frozen=True)
class FormField:
    """One field of an item's application form."""

    key: str
    label: str
    type: str
    required: bool = True
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    pattern: str = ""
    help: str = ""


@dataclass(frozen=True)
class Item:
    """One 事项 with every element of its 办事指南, its level, station and application form."""

    code: str
    name: str
    item_type: str
    level: str
    station: str | None
    county_department: str | None
    legal_basis: str
    authority: str
    conditions: str
    audience: str
    legal_limit_days: int
    promised_limit_days: int
    result_name: str
    result_sample: str
    fee: str
    materials: tuple[Material, ...]
    process: tuple[str, ...]
    channels: str
    review_standard: str
    location: str
    hours: str
    consult: str
    complaint: str
    form: tuple[FormField, ...]
    keywords: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """Either "immediate" (即办件, decided on the spot) or "promised" (承诺件)."""
        return "immediate" if self.promised_limit_days == 0 else "promised"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def handler_name(self) -> str:
        """Who decides: the station's name for township items, the department for county items."""
        if self.level == "township" and self.station is not None:
            return STATIONS[self.station]
        return self.county_department or ""

    @property
    def promised_label(self) -> str:
        if self.promised_limit_days == 0:
            return "即办"
        return f"{self.promised_limit_days}个工作日"

    def material(self, name: str) -> Material:
        for material in self.materials:
            if material.name == name:
                return material
        raise KeyError(f"事项 {self.code}「{self.name}」没有名为「{name}」的申请材料")


@dataclass(frozen=True)
class Catalog:
    """One published version of a county's item catalog."""

    version: str
    published: date
    county_code: str
    county_name: str
    items: tuple[Item, ...]
    _index: dict[str, Item] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen: the index is built once here so look-ups stay O(1) on large catalogs.
        object.__setattr__(self, "_index", {item.code: item for item in self.items})

    @property
    def version_key(self) -> tuple[int, ...]:
        """The version as numbers, so "2026.11.10" sorts after "2026.11.9"."""
        return tuple(int(part) for part in self.version.split("."))

    def item(self, code: str) -> Item:
        try:
            return self._index[code]
        except KeyError:
            raise KeyError(f"事项目录 {self.version} 中没有事项编码 {code}") from None

    def has_item(self, code: str) -> bool:
        return code in self._index

    def by_station(self, station: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.station == station)

    def township_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.level == "township")

    def county_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.level == "county")


def validate_form(item: Item, data: Mapping[str, object]) -> dict[str, str]:
    """Check application data against the item's form: field key → Chinese error, empty if ok.

    Keys in `data` that the form does not declare are ignored. A required `bool` field is a
    confirmation (e.g. 承诺所填信息属实) and must be true. ID, credit code and phone checksum
    failures are errors here even when overridable; the caller decides about overrides.
    """
    errors: dict[str, str] = {}
    for spec in item.form:
        value = data.get(spec.key)
        if _is_empty(spec, value):
            if spec.required:
                errors[spec.key] = _missing_message(spec)
            continue
        message = _check_value(spec, value)
        if message:
            errors[spec.key] = message
    return errors


def _is_empty(spec: FormField, value: object) -> bool:
    if value is None:
        return True
    if spec.type == "bool":
        return value is False
    return isinstance(value, str) and not value.strip()


def _missing_message(spec: FormField) -> str:
    if spec.type == "choice":
        return f"请选择{spec.label}"
    if spec.type == "bool":
        return f"请确认{spec.label}"
    return f"请填写{spec.label}"


def _check_value(spec: FormField, value: object) -> str | None:
    if spec.type in TEXT_TYPES:
        return _check_text(spec, value)
    if spec.type in NUMERIC_TYPES:
        return _check_number(spec, value)
    if spec.type == "date":
        return _check_date(spec, value)
    if spec.type == "choice":
        if value in spec.choices:
            return None
        return f"{spec.label}只能选择：{'、'.join(spec.choices)}"
    if spec.type == "bool":
        return None if isinstance(value, bool) else f"{spec.label}应为“是”或“否”"
    if spec.type in ("id_number", "uscc", "phone"):
        if not isinstance(value, str):
            return f"{spec.label}应为文字"
        return _check_external(spec, value)
    return f"{spec.label}的字段类型“{spec.type}”不支持"


def _check_text(spec: FormField, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{spec.label}应为文字"
    length = len(value.strip())
    if spec.min is not None and length < spec.min:
        return f"{spec.label}至少{_number_text(spec.min)}个字"
    if spec.max is not None and length > spec.max:
        return f"{spec.label}最多{_number_text(spec.max)}个字"
    if spec.pattern and re.fullmatch(spec.pattern, value.strip()) is None:
        suffix = f"：{spec.help}" if spec.help else ""
        return f"{spec.label}格式不正确{suffix}"
    return None


def _check_number(spec: FormField, value: object) -> str | None:
    number = _as_number(value, integer=spec.type == "int")
    if number is None:
        kind = "整数" if spec.type == "int" else "数字"
        return f"{spec.label}应为{kind}"
    if spec.min is not None and number < Decimal(str(spec.min)):
        return f"{spec.label}不能小于{_number_text(spec.min)}"
    if spec.max is not None and number > Decimal(str(spec.max)):
        return f"{spec.label}不能大于{_number_text(spec.max)}"
    return None


def _as_number(value: object, *, integer: bool) -> Decimal | None:
    # bool is an int subclass; a checkbox value is never a valid count or area.
    if isinstance(value, bool):
        return None
    if integer:
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return Decimal(value.strip())
        return None
    if isinstance(value, int | float | Decimal | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _check_date(spec: FormField, value: object) -> str | None:
    if isinstance(value, date):
        return None
    if isinstance(value, str):
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return None
    return f"{spec.label}应为日期，格式如 2026-01-31"


def _check_external(spec: FormField, raw: str) -> str | None:
    # Imported here so the schema loads even where the validators module is not yet present.
    from forms import validators

    checks = {
        "id_number": validators.check_resident_id,
        "uscc": validators.check_uscc,
        "phone": validators.check_phone,
    }
    result = checks[spec.type](raw)
    if bool(result.ok):
        return None
    message = str(result.message)
    return message if spec.label in message else f"{spec.label}：{message}"


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
