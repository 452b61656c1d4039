"""Load, check, dump and fingerprint item catalogs (JSON data published by the county)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from forms.schema import (
    CATALOG_LABELS,
    ELEMENT_LABELS,
    FIELD_TYPES,
    FORM_FIELD_LABELS,
    ITEM_TYPES,
    LEVEL_LABELS,
    MATERIAL_FORMS,
    MATERIAL_LABELS,
    NUMERIC_TYPES,
    STATIONS,
    TEXT_TYPES,
    Catalog,
    FormField,
    Item,
    Material,
)

DEMO_RESOURCE = "data/demo_county.json"

VERSION_PATTERN = re.compile(r"\d{4}\.\d{1,2}\.\d{1,3}")
COUNTY_CODE_PATTERN = re.compile(r"\d{6}")
FIELD_KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]*")

# Every plain-text element of a 办事指南 must be filled (annotations are strings here).
REQUIRED_TEXT: tuple[str, ...] = tuple(f.name for f in fields(Item) if f.type == "str")

# Catch-all wording that lets a window ask for anything; the county's standard forbids it.
CATCH_ALL_FRAGMENTS: tuple[str, ...] = ("其他", "有关材料", "相关材料", "等材料")

T = TypeVar("T")


class CatalogError(ValueError):
    """A catalog that does not pass the checks; `errors` holds one Chinese line per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = tuple(errors)
        self.message = "\n".join(errors)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class _Reader:
    """Reads one JSON object, collecting Chinese errors that name the owner and the element."""

    def __init__(self, raw: dict[str, Any], who: str, labels: dict[str, str], errors: list[str]):
        self.raw = raw
        self.who = who
        self.labels = labels
        self.errors = errors

    def element(self, key: str) -> str:
        return f"{self.labels.get(key, key)}（{key}）"

    def fail(self, text: str) -> None:
        self.errors.append(f"{self.who}{text}")

    def missing(self, key: str) -> None:
        self.fail(f"缺少必填要素：{self.element(key)}")

    def reject_unknown(self) -> None:
        for key in self.raw:
            if key not in self.labels:
                self.fail(f"含有未知要素“{key}”")

    def text(self, key: str, *, required: bool = True) -> str:
        value = self.raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.missing(key)
            return ""
        if not isinstance(value, str):
            self.fail(f"的{self.element(key)}应为文字")
            return ""
        return value.strip()

    def integer(self, key: str, *, minimum: int) -> int:
        value = self.raw.get(key)
        if value is None:
            self.missing(key)
            return minimum
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"的{self.element(key)}应为不小于{minimum}的整数")
            return minimum
        return value

    def number(self, key: str) -> float | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"的{self.element(key)}应为数字")
            return None
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"的{self.element(key)}应为 true 或 false")
            return default
        return value

    def strings(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        value = self.raw.get(key)
        if isinstance(value, str):
            value = [value]
        if value is None or value == []:
            if required:
                self.missing(key)
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"的{self.element(key)}应为非空文字列表")
            return ()
        return tuple(v.strip() for v in value)

    def objects(self, key: str) -> list[dict[str, Any]]:
        value = self.raw.get(key)
        if not value:
            self.missing(key)
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(f"的{self.element(key)}应为对象列表")
            return []
        return value


def _is_catch_all(name: str) -> bool:
    generic = name == "材料" or name.endswith("等")
    return generic or any(fragment in name for fragment in CATCH_ALL_FRAGMENTS)


def _parse_material(raw: dict[str, Any], position: int, owner: str, errors: list[str]) -> Material:
    name = raw.get("name") if isinstance(raw.get("name"), str) else ""
    who = f"{owner}申请材料第{position}项「{name}」" if name else f"{owner}申请材料第{position}项"
    reader = _Reader(raw, who, MATERIAL_LABELS, errors)
    reader.reject_unknown()
    material = Material(
        name=reader.text("name"),
        form=reader.strings("form"),
        copies=reader.integer("copies", minimum=1),
        spec=reader.text("spec"),
        source=reader.text("source"),
        required=reader.flag("required", True),
        deferrable=reader.flag("deferrable", False),
        sample=reader.text("sample", required=False),
        commitment_allowed=reader.flag("commitment_allowed", False),
    )
    if material.name and _is_catch_all(material.name):
        reader.fail(f"属于兜底表述，须逐项写明具体材料：{reader.element('name')}")
    for form in material.form:
        if form not in MATERIAL_FORMS:
            allowed = "、".join(MATERIAL_FORMS)
            reader.fail(f"的{reader.element('form')}“{form}”不在可选范围（{allowed}）内")
    if len(set(material.form)) != len(material.form):
        reader.fail(f"的{reader.element('form')}有重复项")
    if material.deferrable and not material.required:
        reader.fail(f"不是必要材料，不能标注{reader.element('deferrable')}")
    return material


def _parse_field(raw: dict[str, Any], position: int, owner: str, errors: list[str]) -> FormField:
    key = raw.get("key") if isinstance(raw.get("key"), str) else ""
    who = f"{owner}申请表第{position}个字段「{key}」" if key else f"{owner}申请表第{position}个字段"
    reader = _Reader(raw, who, FORM_FIELD_LABELS, errors)
    reader.reject_unknown()
    spec = FormField(
        key=reader.text("key"),
        label=reader.text("label"),
        type=reader.text("type"),
        required=reader.flag("required", True),
        choices=reader.strings("choices", required=False),
        min=reader.number("min"),
        max=reader.number("max"),
        pattern=reader.text("pattern", required=False),
        help=reader.text("help", required=False),
    )
    _check_field(spec, reader)
    return spec


def _check_field(spec: FormField, reader: _Reader) -> None:
    if spec.key and FIELD_KEY_PATTERN.fullmatch(spec.key) is None:
        reader.fail(f"的{reader.element('key')}须为小写英文字母开头的标识符")
    if spec.type and spec.type not in FIELD_TYPES:
        allowed = "、".join(f"{code}（{label}）" for code, label in FIELD_TYPES.items())
        reader.fail(f"的{reader.element('type')}“{spec.type}”不支持，可选：{allowed}")
        return  # the remaining checks depend on a known type
    if spec.type == "choice" and not spec.choices:
        reader.missing("choices")
    if spec.type != "choice" and spec.choices:
        reader.fail(f"不是选项字段，不应设置{reader.element('choices')}")
    bounded = spec.min is not None or spec.max is not None
    if bounded and spec.type not in NUMERIC_TYPES | TEXT_TYPES:
        reader.fail(f"的类型不支持{reader.element('min')}和{reader.element('max')}")
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        reader.fail(f"的{reader.element('min')}大于{reader.element('max')}")
    if spec.pattern:
        if spec.type not in TEXT_TYPES:
            reader.fail(f"的类型不支持{reader.element('pattern')}")
        try:
            re.compile(spec.pattern)
        except re.error:
            reader.fail(f"的{reader.element('pattern')}不是有效的正则表达式")


def _item_who(raw: dict[str, Any], position: int) -> str:
    code = raw.get("code") if isinstance(raw.get("code"), str) else ""
    name = raw.get("name") if isinstance(raw.get("name"), str) else ""
    if code or name:
        return f"事项 {code or '（无编码）'}「{name or '（无名称）'}」"
    return f"第{position}项事项"


def _parse_item(raw: dict[str, Any], position: int, errors: list[str]) -> Item:
    who = _item_who(raw, position)
    reader = _Reader(raw, who, ELEMENT_LABELS, errors)
    reader.reject_unknown()
    texts: dict[str, Any] = {key: reader.text(key) for key in REQUIRED_TEXT}
    item = Item(
        **texts,
        station=reader.text("station", required=False) or None,
        county_department=reader.text("county_department", required=False) or None,
        legal_limit_days=reader.integer("legal_limit_days", minimum=1),
        promised_limit_days=reader.integer("promised_limit_days", minimum=0),
        materials=_parse_many(reader, "materials", _parse_material),
        process=reader.strings("process"),
        form=_parse_many(reader, "form", _parse_field),
        keywords=reader.strings("keywords", required=False),
    )
    _check_item(item, reader)
    return item


def _parse_many(
    reader: _Reader, key: str, parse: Callable[[dict[str, Any], int, str, list[str]], T]
) -> tuple[T, ...]:
    return tuple(
        parse(raw, position, reader.who, reader.errors)
        for position, raw in enumerate(reader.objects(key), start=1)
    )


def _check_item(item: Item, reader: _Reader) -> None:
    if item.item_type and item.item_type not in ITEM_TYPES:
        reader.fail(f"的{reader.element('item_type')}“{item.item_type}”不在事项类型清单内")
    if item.level and item.level not in LEVEL_LABELS:
        reader.fail(f"的{reader.element('level')}“{item.level}”应为 township 或 county")
    if item.level == "township":
        _check_township(item, reader)
    elif item.level == "county":
        if item.county_department is None:
            reader.missing("county_department")
        if item.station is not None:
            reader.fail(f"是县级帮代办事项，不应指定{reader.element('station')}")
    if item.promised_limit_days > item.legal_limit_days:
        reader.fail(
            f"的{reader.element('promised_limit_days')}{item.promised_limit_days}个工作日"
            f"超过{reader.element('legal_limit_days')}{item.legal_limit_days}个工作日"
        )
    _check_unique(reader, "材料名称（materials.name）", [m.name for m in item.materials])
    _check_unique(reader, "申请表字段标识（form.key）", [f.key for f in item.form])


def _check_township(item: Item, reader: _Reader) -> None:
    if item.station is None:
        reader.missing("station")
    elif item.station not in STATIONS:
        allowed = "、".join(f"{code}（{name}）" for code, name in STATIONS.items())
        reader.fail(f"的{reader.element('station')}“{item.station}”不存在，可选：{allowed}")
    if item.county_department is not None:
        reader.fail(f"是乡镇便民服务事项，不应指定{reader.element('county_department')}")


def _check_unique(reader: _Reader, what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value and value in seen:
            reader.fail(f"的{what}重复：「{value}」")
        seen.add(value)


def _parse_catalog(raw: object) -> Catalog:
    if not isinstance(raw, dict):
        raise CatalogError(["事项目录应为 JSON 对象"])
    errors: list[str] = []
    reader = _Reader(raw, "事项目录", CATALOG_LABELS, errors)
    reader.reject_unknown()
    version = reader.text("version")
    if version and VERSION_PATTERN.fullmatch(version) is None:
        reader.fail(f"的{reader.element('version')}“{version}”应为“年.月.序号”，如 2026.11.1")
    county_code = reader.text("county_code")
    if county_code and COUNTY_CODE_PATTERN.fullmatch(county_code) is None:
        reader.fail(f"的{reader.element('county_code')}“{county_code}”应为6位数字")
    county_name = reader.text("county_name")
    published = _parse_date(reader, "published")
    items = [
        _parse_item(item, position, errors)
        for position, item in enumerate(reader.objects("items"), start=1)
    ]
    seen: dict[str, int] = {}
    for position, item in enumerate(items, start=1):
        if item.code in seen:
            errors.append(
                f"事项 {item.code}「{item.name}」（第{position}项）与第{seen[item.code]}项"
                f"重复：{ELEMENT_LABELS['code']}（code）"
            )
        seen.setdefault(item.code, position)
    if errors:
        raise CatalogError(errors)
    return Catalog(
        version=version,
        published=published or date.min,
        county_code=county_code,
        county_name=county_name,
        items=tuple(items),
    )


def _parse_date(reader: _Reader, key: str) -> date | None:
    text = reader.text(key)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        reader.fail(f"的{reader.element(key)}“{text}”应为日期，格式如 2026-11-01")
        return None


def load_catalog(source: Path | str | dict[str, Any]) -> Catalog:
    """Load and check a catalog from a JSON file path or an already parsed dict."""
    if isinstance(source, dict):
        return _parse_catalog(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError([f"无法读取事项目录文件 {path}：{exc.strerror or exc}"]) from exc
    return loads_catalog(text)


def loads_catalog(text: str) -> Catalog:
    """Load and check a catalog from JSON text."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError([f"事项目录不是有效的 JSON：第{exc.lineno}行第{exc.colno}列"]) from exc
    return _parse_catalog(raw)


def catalog_to_dict(catalog: Catalog) -> dict[str, Any]:
    """The catalog as plain JSON data: every element present, in declaration order."""
    data = _plain(catalog)
    assert isinstance(data, dict)
    return data


def _plain(value: object) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        # init=False fields are derived (the catalog's look-up index) and not data.
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.init}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def dump_catalog(catalog: Catalog) -> str:
    """Canonical JSON text of a catalog: load(dump(c)) == c, same catalog → same bytes."""
    return json.dumps(catalog_to_dict(catalog), ensure_ascii=False, indent=2) + "\n"


def catalog_sha256(catalog: Catalog) -> str:
    """Hex SHA-256 of the canonical dump, to tell published versions apart."""
    return hashlib.sha256(dump_catalog(catalog).encode("utf-8")).hexdigest()


@cache
def load_demo_catalog() -> Catalog:
    """The packaged catalog of the fictitious demo county (青禾县)."""
    text = resources.files("forms").joinpath(DEMO_RESOURCE).read_text(encoding="utf-8")
    return loads_catalog(text)
