"""Tests for the item catalog: demo data, loading and its rejections, dumping, form checks."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from forms.catalog import (
    REQUIRED_TEXT,
    CatalogError,
    catalog_sha256,
    catalog_to_dict,
    dump_catalog,
    load_catalog,
    load_demo_catalog,
    loads_catalog,
)
from forms.schema import (
    ELEMENT_LABELS,
    FORM_FIELD_LABELS,
    MATERIAL_LABELS,
    STATIONS,
    FormField,
    Item,
    Material,
    validate_form,
)

ROOT = Path(__file__).resolve().parents[3]
JS1 = "370999-JS-001"
XJ1 = "370999-XJ-001"
FIRST = "事项 370999-JS-001「生育登记」"
COUNTY_FIRST = "事项 370999-XJ-001「残疾人证新办」"


def gb11643_check_char(first17: str) -> str:
    """GB 11643 check character, computed here so the tests do not trust the code under test."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def make_id(first17: str = "37099919800101123") -> str:
    return first17 + gb11643_check_char(first17)


def make_uscc(org_body: str = "MA3C0000") -> str:
    """A GB 32100 credit code whose embedded GB 11714 organisation code is also valid."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    org_sum = sum(alphabet.index(c) * w for c, w in zip(org_body, weights, strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - org_sum % 11, str(11 - org_sum % 11))
    first17 = "91370999" + org_body + org_check
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(charset.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + charset[(31 - total % 31) % 31]


def demo_dict() -> dict[str, Any]:
    """A fresh, mutable copy of the demo catalog as JSON data."""
    return catalog_to_dict(load_demo_catalog())  # built afresh on each call


def item_dict(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(item for item in data["items"] if item["code"] == code)


def rejection(data: dict[str, Any]) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        load_catalog(data)
    return caught.value


# --- the demo catalog -------------------------------------------------------------------


def test_gb11643_helper_matches_a_published_example() -> None:
    # The example number printed in GB 11643-1999 itself.
    assert make_id("11010519491231002") == "11010519491231002X"


def test_demo_catalog_meets_the_counts() -> None:
    catalog = load_demo_catalog()
    assert (catalog.version, catalog.county_code, catalog.county_name) == (
        "2026.11.1",
        "370999",
        "青禾县",
    )
    assert len(catalog.township_items()) >= 32
    assert len(catalog.county_items()) >= 12
    for station in STATIONS:
        assert len(catalog.by_station(station)) >= 5, station
    assert len(catalog.township_items()) + len(catalog.county_items()) == len(catalog.items)


def test_every_element_is_filled_for_every_item() -> None:
    for item in load_demo_catalog().items:
        for key in REQUIRED_TEXT:
            assert getattr(item, key).strip(), (item.code, key)
        assert item.legal_limit_days >= 1
        assert 0 <= item.promised_limit_days <= item.legal_limit_days
        assert len(item.process) >= 5, item.code
        assert 3 <= len(item.form) <= 8, item.code
        assert item.materials and item.keywords, item.code
        for material in item.materials:
            assert material.name and material.spec and material.source and material.form
            assert material.copies >= 1
        if item.level == "township":
            assert item.station in STATIONS and item.county_department is None
        else:
            assert item.station is None and item.county_department


def test_demo_catalog_has_a_realistic_mix() -> None:
    catalog = load_demo_catalog()
    kinds = [item.kind for item in catalog.items]
    assert kinds.count("immediate") >= 5
    assert kinds.count("promised") >= 20
    assert {item.promised_limit_days for item in catalog.items} >= {0, 3, 5, 10, 15, 20}
    materials = [m for item in catalog.items for m in item.materials]
    assert sum(m.deferrable for m in materials) >= 5
    assert sum(m.commitment_allowed for m in materials) >= 5
    assert any(not m.required for m in materials)
    assert any(len(m.form) == 2 for m in materials)
    assert all(item.fee == "不收费" for item in catalog.items)
    for item in catalog.township_items():
        assert re.fullmatch(r"370999-(JS|NY|NJ|LD|MZ|TY)-\d{3}", item.code)
        assert "青禾县" not in item.location  # the township itself is configured elsewhere
    for item in catalog.county_items():
        assert re.fullmatch(r"370999-XJ-\d{3}", item.code)


def test_every_element_has_a_chinese_label() -> None:
    assert {f.name for f in fields(Item)} == set(ELEMENT_LABELS)
    assert {f.name for f in fields(Material)} == set(MATERIAL_LABELS)
    assert {f.name for f in fields(FormField)} == set(FORM_FIELD_LABELS)
    labels = [*ELEMENT_LABELS.values(), *MATERIAL_LABELS.values(), *FORM_FIELD_LABELS.values()]
    assert all(re.search(r"[\u4e00-\u9fff]", label) for label in labels)


def test_lookups() -> None:
    catalog = load_demo_catalog()
    item = catalog.item("370999-MZ-001")
    assert item.name == "最低生活保障申请"
    assert item.kind == "promised" and item.kind_label == "承诺件"
    assert item.handler_name == STATIONS["minzheng"]
    assert catalog.item("370999-JS-001").kind == "immediate"
    assert catalog.item("370999-JS-001").promised_label == "即办"
    assert all(i.station == "tuiyi" for i in catalog.by_station("tuiyi"))
    assert all(i.level == "county" for i in catalog.county_items())
    assert catalog.has_item("370999-XJ-001") and not catalog.has_item("370999-XX-999")
    with pytest.raises(KeyError, match="370999-XX-999"):
        catalog.item("370999-XX-999")
    assert item.material("居民户口簿").form == ("原件",)
    assert catalog.version_key == (2026, 11, 1)


# --- dump and load ----------------------------------------------------------------------


def test_dump_load_round_trip(tmp_path: Path) -> None:
    catalog = load_demo_catalog()
    text = dump_catalog(catalog)
    again = loads_catalog(text)
    assert again == catalog
    assert dump_catalog(again) == text
    path = tmp_path / "catalog.json"
    path.write_text(text, encoding="utf-8")
    assert load_catalog(path) == catalog
    assert load_catalog(str(path)) == catalog
    assert load_catalog(catalog_to_dict(catalog)) == catalog
    assert "生育登记" in text  # ensure_ascii=False keeps the data readable


def test_sha256_follows_content() -> None:
    catalog = load_demo_catalog()
    digest = catalog_sha256(catalog)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert catalog_sha256(loads_catalog(dump_catalog(catalog))) == digest
    data = demo_dict()
    item_dict(data, JS1)["hours"] = "法定工作日 上午9:00-12:00"
    assert catalog_sha256(load_catalog(data)) != digest


def test_unreadable_sources_are_catalog_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="不是有效的 JSON"):
        loads_catalog("{")
    with pytest.raises(CatalogError, match="无法读取事项目录文件"):
        load_catalog(tmp_path / "missing.json")
    with pytest.raises(CatalogError, match="应为 JSON 对象"):
        loads_catalog("[]")


# --- rejections -------------------------------------------------------------------------


def test_missing_element_names_item_and_field() -> None:
    data = demo_dict()
    del item_dict(data, JS1)["review_standard"]
    error = rejection(data)
    assert error.errors == (f"{FIRST}缺少必填要素：审查标准（review_standard）",)
    assert isinstance(error, ValueError) and str(error) == error.errors[0]


@pytest.mark.parametrize(
    ("key", "value", "label"),
    [
        ("legal_basis", "   ", "设定依据（legal_basis）"),
        ("complaint", "", "监督投诉方式（complaint）"),
        ("process", [], "办理流程（process）"),
        ("materials", [], "申请材料（materials）"),
        ("form", [], "申请表（form）"),
    ],
)
def test_empty_element_is_rejected(key: str, value: object, label: str) -> None:
    data = demo_dict()
    item_dict(data, JS1)[key] = value
    assert rejection(data).errors == (f"{FIRST}缺少必填要素：{label}",)


@pytest.mark.parametrize(
    "name", ["其他材料", "有关材料", "申请人相关材料", "身份证明等材料", "户口簿、结婚证等", "材料"]
)
def test_catch_all_material_is_rejected(name: str) -> None:
    data = demo_dict()
    item_dict(data, JS1)["materials"][1]["name"] = name
    (message,) = rejection(data).errors
    assert message.startswith(f"{FIRST}申请材料第2项「{name}」")
    assert "兜底" in message and message.endswith("材料名称（name）")


@pytest.mark.parametrize(
    ("code", "key", "value", "expected"),
    [
        (JS1, "station", "caizheng", "的所属站所（station）“caizheng”不存在"),
        (JS1, "station", None, "缺少必填要素：所属站所（station）"),
        (XJ1, "county_department", None, "缺少必填要素：县级承办部门（county_department）"),
        (XJ1, "station", "minzheng", "是县级帮代办事项，不应指定所属站所（station）"),
        (JS1, "county_department", "青禾县卫生健康局", "是乡镇便民服务事项，不应指定"),
        (
            JS1,
            "promised_limit_days",
            2,
            "的承诺办结时限（promised_limit_days）2个工作日超过法定办结时限（legal_limit_days）",
        ),
        (JS1, "level", "city", "的事项层级（level）“city”应为 township 或 county"),
        (JS1, "item_type", "行政服务", "的事项类型（item_type）“行政服务”不在事项类型清单内"),
        (JS1, "legal_limit_days", "5", "的法定办结时限（legal_limit_days）应为不小于1的整数"),
        (JS1, "legal_basi", "x", "含有未知要素“legal_basi”"),
    ],
)
def test_item_rules(code: str, key: str, value: object, expected: str) -> None:
    data = demo_dict()
    item_dict(data, code)[key] = value
    who = FIRST if code == JS1 else COUNTY_FIRST
    (message,) = rejection(data).errors
    assert message.startswith(who + expected)


def test_duplicate_item_codes_are_rejected() -> None:
    data = demo_dict()
    data["items"][1]["code"] = "370999-JS-001"
    second = data["items"][1]["name"]
    (message,) = rejection(data).errors
    assert message == f"事项 370999-JS-001「{second}」（第2项）与第1项重复：事项编码（code）"


def test_duplicate_material_names_are_rejected() -> None:
    data = demo_dict()
    materials = item_dict(data, JS1)["materials"]
    materials[2]["name"] = materials[1]["name"]
    (message,) = rejection(data).errors
    assert message == f"{FIRST}的材料名称（materials.name）重复：「居民户口簿」"


FIELD = "申请表第1个字段「wife_name」"
PAPER = "申请材料第2项「居民户口簿」"


@pytest.mark.parametrize(
    ("part", "change", "expected"),
    [
        ("form", {"type": "money"}, f"{FIELD}的字段类型（type）“money”不支持"),
        ("form", {"type": "choice", "min": None, "max": None}, f"{FIELD}缺少必填要素：可选项"),
        ("form", {"type": "date"}, f"{FIELD}的类型不支持最小值或最短长度（min）"),
        ("form", {"min": 40}, f"{FIELD}的最小值或最短长度（min）大于最大值或最大长度（max）"),
        ("form", {"key": "Wife"}, "申请表第1个字段「Wife」的字段标识（key）须为小写英文字母开头"),
        ("form", {"pattern": "([a-z"}, f"{FIELD}的格式要求（pattern）不是有效的正则表达式"),
        ("materials", {"form": ["扫描件"]}, f"{PAPER}的材料形式（form）“扫描件”不在可选范围"),
        ("materials", {"copies": 0}, f"{PAPER}的份数（copies）应为不小于1的整数"),
        ("materials", {"required": False}, f"{PAPER}不是必要材料，不能标注是否容缺（deferrable）"),
        ("materials", {"source": ""}, f"{PAPER}缺少必填要素：来源渠道（source）"),
    ],
)
def test_material_and_form_field_rules(part: str, change: dict[str, Any], expected: str) -> None:
    data = demo_dict()
    item_dict(data, JS1)[part][0 if part == "form" else 1].update(change)
    (message,) = rejection(data).errors
    assert message.startswith(FIRST + expected)


def test_catalog_level_rules() -> None:
    data = demo_dict()
    del data["version"]
    data["county_code"] = "3709"
    data["published"] = "2026-13-01"
    errors = rejection(data).errors
    assert "事项目录缺少必填要素：版本号（version）" in errors
    assert any("县级行政区划代码（county_code）“3709”" in line for line in errors)
    assert any("发布日期（published）“2026-13-01”" in line for line in errors)
    bad_version = demo_dict()
    bad_version["version"] = "v1"
    assert "版本号（version）“v1”" in str(rejection(bad_version))


def test_all_errors_are_reported_one_per_line() -> None:
    data = demo_dict()
    del item_dict(data, JS1)["fee"]
    item_dict(data, XJ1)["materials"][0]["name"] = "其他证明"
    error = rejection(data)
    assert len(error.errors) == 2
    assert str(error).split("\n") == list(error.errors)
    assert error.errors[0].startswith(FIRST) and error.errors[1].startswith(COUNTY_FIRST)


# --- application forms ------------------------------------------------------------------

GOOD_DIBAO: dict[str, object] = {
    "applicant_name": "张秀英",
    "id_number": make_id(),
    "phone": "13800138000",
    "address": "幸福村三组12号",
    "household_size": 3,
    "monthly_income": "1200.50",
    "reason": "丈夫患病长期住院，家庭无固定收入",
    "truthful": True,
}


def dibao() -> Item:
    return load_demo_catalog().item("370999-MZ-001")


def test_validate_form_accepts_good_data() -> None:
    assert validate_form(dibao(), dict(GOOD_DIBAO)) == {}
    typed = {**GOOD_DIBAO, "household_size": "4", "monthly_income": 0, "extra": "忽略"}
    assert validate_form(dibao(), typed) == {}


SAMPLES_BY_PATTERN = {
    r"\d{16,19}": "6217000000000000123",
    r"\d{17}[\dX][1-7][1-4]": make_id() + "41",
}
SAMPLES_BY_TYPE: dict[str, object] = {
    "date": "2020-01-01",
    "id_number": make_id(),
    "uscc": make_uscc(),
    "phone": "13800138000",
    "bool": True,
}


def sample_value(field: FormField) -> object:
    if field.type == "choice":
        return field.choices[-1]
    if field.type in ("int", "decimal"):
        return field.max if field.max is not None else 1
    if field.pattern:
        return SAMPLES_BY_PATTERN[field.pattern]
    if field.type in ("text", "textarea"):
        return "测" * int(field.max or 5)
    return SAMPLES_BY_TYPE[field.type]


def test_every_demo_form_accepts_a_filled_in_application() -> None:
    for item in load_demo_catalog().items:
        data = {field.key: sample_value(field) for field in item.form}
        assert validate_form(item, data) == {}, item.code


def test_validate_form_reports_missing_required_fields() -> None:
    errors = validate_form(dibao(), {"applicant_name": "  ", "truthful": False})
    assert errors["applicant_name"] == "请填写户主姓名"
    assert errors["truthful"] == "请确认本人承诺所填信息和所交材料真实有效"
    assert set(errors) == {field.key for field in dibao().form if field.required}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("household_size", 0, "共同生活家庭人口不能小于1"),
        ("household_size", 21, "共同生活家庭人口不能大于20"),
        ("household_size", "3.5", "共同生活家庭人口应为整数"),
        ("household_size", True, "共同生活家庭人口应为整数"),
        ("monthly_income", "-1", "家庭月总收入（元）不能小于0"),
        ("monthly_income", "一千", "家庭月总收入（元）应为数字"),
        ("applicant_name", "张", "户主姓名至少2个字"),
        ("reason", "x" * 501, "申请原因最多500个字"),
    ],
)
def test_validate_form_rejects_out_of_range(key: str, value: object, message: str) -> None:
    assert validate_form(dibao(), {**GOOD_DIBAO, key: value}) == {key: message}


def test_validate_form_rejects_bad_choice_and_date() -> None:
    item = load_demo_catalog().item("370999-TY-001")
    good = {
        "applicant_name": "李建军",
        "id_number": make_id("37099919750315201"),
        "phone": "0538-99991601",
        "address": "青石村五组8号",
        "enlisted_on": "1993-12-01",
        "retired_on": date(1997, 12, 1),
        "category": "退役士兵",
    }
    assert validate_form(item, good) == {}
    errors = validate_form(item, {**good, "category": "民兵", "retired_on": "1997-13-01"})
    assert errors["category"] == "退役类别只能选择：退役士兵、退役军官、复员干部、转业干部"
    assert errors["retired_on"].startswith("退役时间应为日期")
    assert set(errors) == {"category", "retired_on"}


def test_validate_form_rejects_bad_id_and_phone() -> None:
    good_id = make_id()
    wrong_check = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")
    errors = validate_form(dibao(), {**GOOD_DIBAO, "id_number": wrong_check, "phone": "12345"})
    assert set(errors) == {"id_number", "phone"}
    assert "校验" in errors["id_number"]
    assert "联系电话" in errors["phone"]
    # A field labelled other than plainly 身份证号码 gets its label in front of the message.
    funeral = load_demo_catalog().item("370999-MZ-005")
    assert validate_form(funeral, {"deceased_id": "123"})["deceased_id"].startswith(
        "逝者身份证号码"
    )


def test_optional_fields_may_be_left_empty() -> None:
    item = load_demo_catalog().item("370999-JS-001")
    data = {
        "wife_name": "王芳",
        "wife_id": make_id("37099919950203002"),
        "husband_name": "赵强",
        "husband_id": make_id("37099919930708001"),
        "phone": "13912345678",
        "child_order": "二孩",
        "due_date": "",
    }
    assert validate_form(item, data) == {}


def test_forms_package_does_not_import_app() -> None:
    code = (
        "import sys, forms.schema, forms.catalog\n"
        "forms.catalog.load_demo_catalog()\n"
        "print(sorted(m for m in sys.modules if m == 'app' or m.startswith('app.')))"
    )
    run = subprocess.run  # the check needs a fresh interpreter: tests may import app already
    result = run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"
