"""Tests for forms.validators: 居民身份证, 统一社会信用代码, phones and other ID types."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms.validators import (
    ID_TYPES,
    PROVINCE_CODES,
    USCC_CHARSET,
    USCC_DEPARTMENTS,
    CheckResult,
    birth_date_from_id,
    check_landline,
    check_mobile,
    check_other_id,
    check_phone,
    check_resident_id,
    check_uscc,
    gender_from_id,
    make_resident_id,
    make_uscc,
    org_code_check_char,
    resident_id_check_char,
    upgrade_legacy_id,
    uscc_check_char,
)

TODAY = date(2025, 6, 1)


def _with_char(value: str, index: int, char: str) -> str:
    return value[:index] + char + value[index + 1 :]


# --- 居民身份证 ------------------------------------------------------------------------------


def test_check_result_is_frozen() -> None:
    result = CheckResult(ok=True, value="x")
    with pytest.raises(FrozenInstanceError):
        result.ok = False  # type: ignore[misc]


def test_standard_example_passes() -> None:
    result = check_resident_id("11010519491231002X", today=TODAY)
    assert result == CheckResult(ok=True, value="11010519491231002X", message="", overridable=False)


# Independently computed samples, one per check character (0–9 and X).
_SAMPLE_TAILS = "0030 0081 0022 0073 0014 0065 0196 0057 0188 0049 009X"
CHECK_CHAR_SAMPLES = tuple(f"32050619850709{tail}" for tail in _SAMPLE_TAILS.split())


@pytest.mark.parametrize("number", CHECK_CHAR_SAMPLES)
def test_every_check_char_value(number: str) -> None:
    assert resident_id_check_char(number[:17]) == number[17]
    assert check_resident_id(number, today=TODAY).ok


def test_check_char_matches_hand_verified_examples() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("44052418800101001") == "4"


def test_standard_example_born_before_1900_is_rejected_as_format() -> None:
    # GB 11643's own example 440524188001010014 has a correct checksum but an 1880 birth date.
    result = check_resident_id("440524188001010014", today=TODAY)
    assert not result.ok
    assert not result.overridable
    assert "早于1900年1月1日" in result.message


def test_generated_id_passes_and_is_normalised() -> None:
    number = make_resident_id("320506", date(1985, 7, 9), 123)
    assert number.startswith("32050619850709123")
    spaced = f" {number[:6]} {number[6:14]} {number[14:]} "
    assert check_resident_id(spaced, today=TODAY) == CheckResult(ok=True, value=number)


def test_lowercase_x_is_accepted_and_upper_cased() -> None:
    result = check_resident_id("11010519491231002x", today=TODAY)
    assert result.ok
    assert result.value == "11010519491231002X"


def test_full_width_digits_are_normalised() -> None:
    result = check_resident_id("１１０１０５１９４９１２３１００２Ｘ", today=TODAY)
    assert result.ok
    assert result.value == "11010519491231002X"


def test_bad_checksum_is_overridable_and_names_expected_char() -> None:
    result = check_resident_id("110105194912310021", today=TODAY)
    assert not result.ok
    assert result.overridable
    assert result.value == "110105194912310021"
    assert result.message == (
        "身份证号码校验位不符（应为X），请核对证件；如证件本身如此，可填写原因后继续"
    )


@pytest.mark.parametrize("raw", ["", "1101051949123100", "1101051949123100211", "   "])
def test_wrong_length_is_not_overridable(raw: str) -> None:
    result = check_resident_id(raw, today=TODAY)
    assert not result.ok
    assert not result.overridable
    assert result.message in {"身份证号码应为18位（或旧版15位）", "请填写身份证号码"}


def test_non_digits_are_rejected() -> None:
    result = check_resident_id("1101051949123X002X", today=TODAY)
    assert not result.ok
    assert not result.overridable
    assert "只能由数字组成" in result.message


def test_impossible_birth_date_is_rejected() -> None:
    first17 = "11010519990230001"
    number = first17 + resident_id_check_char(first17)
    result = check_resident_id(number, today=TODAY)
    assert not result.ok
    assert not result.overridable
    assert result.message == "身份证号码中的出生日期无效（1999-02-30）"


def test_leap_day_2000_valid_but_1900_invalid() -> None:
    assert check_resident_id(make_resident_id("110105", date(2000, 2, 29), 1), today=TODAY).ok
    first17 = "11010519000229001"
    result = check_resident_id(first17 + resident_id_check_char(first17), today=TODAY)
    assert not result.ok
    assert "1900-02-29" in result.message


def test_future_birth_date_is_rejected() -> None:
    number = make_resident_id("110105", date(2025, 6, 2), 1)
    assert check_resident_id(number, today=date(2025, 6, 2)).ok
    result = check_resident_id(number, today=TODAY)
    assert not result.ok
    assert not result.overridable
    assert "晚于今天" in result.message


@pytest.mark.parametrize(
    ("region", "fragment"),
    [("990105", "省级行政区划代码"), ("160105", "省级行政区划代码"), ("110000", "县级")],
)
def test_bad_region_shape_is_rejected(region: str, fragment: str) -> None:
    first17 = f"{region}19800101001"
    result = check_resident_id(first17 + resident_id_check_char(first17), today=TODAY)
    assert not result.ok
    assert not result.overridable
    assert fragment in result.message


def test_province_list_matches_official_codes() -> None:
    edges = {f"{n}" for n in (11, 15, 21, 23, 31, 37, 41, 46, 50, 54, 61, 65, 71, 81, 82)}
    assert edges <= PROVINCE_CODES
    assert not {"10", "16", "20", "24", "38", "47", "55", "66", "72", "83"} & PROVINCE_CODES
    assert len(PROVINCE_CODES) == 5 + 3 + 7 + 6 + 5 + 5 + 3


def test_legacy_15_digit_number() -> None:
    result = check_resident_id("110105491231002", today=TODAY)
    assert result == CheckResult(ok=True, value="110105491231002")
    bad_date = check_resident_id("110105990230002", today=TODAY)
    assert not bad_date.ok
    assert "1999-02-30" in bad_date.message
    assert not check_resident_id("11010549123100X", today=TODAY).ok


def test_upgrade_legacy_id() -> None:
    assert upgrade_legacy_id("110105491231002") == "11010519491231002X"
    with pytest.raises(ValueError, match="15位"):
        upgrade_legacy_id("11010519491231002X")
    with pytest.raises(ValueError, match="出生日期无效"):
        upgrade_legacy_id("110105990230002")


def test_birth_date_and_gender_from_id() -> None:
    assert birth_date_from_id("11010519491231002X") == date(1949, 12, 31)
    assert birth_date_from_id("110105491231002") == date(1949, 12, 31)
    assert birth_date_from_id("11010519990230001X") is None
    assert birth_date_from_id("abc") is None
    assert gender_from_id("11010519491231002X") == "女"
    assert gender_from_id(make_resident_id("110105", date(1990, 1, 1), 3)) == "男"
    assert gender_from_id("110105491231001") == "男"
    assert gender_from_id("12345") is None


def test_make_resident_id_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        make_resident_id("990101", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_resident_id("110105", date(1899, 12, 31), 1)
    with pytest.raises(ValueError):
        make_resident_id("110105", date(1990, 1, 1), 1000)
    with pytest.raises(ValueError):
        resident_id_check_char("1101051949123100")


_regions = st.tuples(
    st.sampled_from(sorted(PROVINCE_CODES)), st.integers(min_value=1, max_value=9999)
).map(lambda pair: f"{pair[0]}{pair[1]:04d}")
_births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
_seqs = st.integers(min_value=0, max_value=999)


@given(region=_regions, birth=_births, seq=_seqs)
def test_property_generated_ids_pass(region: str, birth: date, seq: int) -> None:
    number = make_resident_id(region, birth, seq)
    assert check_resident_id(number, today=TODAY) == CheckResult(ok=True, value=number)
    assert birth_date_from_id(number) == birth


@given(
    region=_regions,
    birth=_births,
    seq=_seqs,
    index=st.integers(min_value=0, max_value=16),
    shift=st.integers(min_value=1, max_value=9),
)
def test_property_single_digit_change_fails(
    region: str, birth: date, seq: int, index: int, shift: int
) -> None:
    number = make_resident_id(region, birth, seq)
    mutated = _with_char(number, index, str((int(number[index]) + shift) % 10))
    result = check_resident_id(mutated, today=TODAY)
    assert not result.ok
    # When the changed number is still well-formed, only the checksum betrays the change.
    repaired = mutated[:17] + resident_id_check_char(mutated[:17])
    if check_resident_id(repaired, today=TODAY).ok:
        assert result.overridable
        assert f"应为{repaired[17]}" in result.message
    else:
        assert not result.overridable


# --- 统一社会信用代码 ------------------------------------------------------------------------


# The last two were computed independently to cover final check values 0 and 30 ("Y").
USCC_SAMPLES = [
    "91350100M000100Y43",
    "91110000802100433B",
    "91320506MA00001460",
    "91320506MA0000023Y",
]


@pytest.mark.parametrize("code", USCC_SAMPLES)
def test_known_uscc_samples_pass(code: str) -> None:
    assert check_uscc(code) == CheckResult(ok=True, value=code)
    assert org_code_check_char(code[8:16]) == code[16]


def test_uscc_lowercase_and_spaces_are_normalised() -> None:
    result = check_uscc(" 91350100m000100y43 ")
    assert result.ok
    assert result.value == "91350100M000100Y43"


def test_org_code_check_char_values() -> None:
    assert org_code_check_char("80210043") == "3"
    assert org_code_check_char("M000100Y") == "4"
    # 6 × 2 = 12 ≡ 1 (mod 11), 11 − 1 = 10, and a check value of 10 is written X.
    assert org_code_check_char("00000006") == "X"


def test_uscc_final_check_mismatch_is_overridable() -> None:
    result = check_uscc("91110000802100433C")
    assert not result.ok
    assert result.overridable
    assert "第18位校验码应为B" in result.message
    assert "组织机构代码" not in result.message


def test_uscc_org_code_mismatch_is_overridable_alone_or_with_final_mismatch() -> None:
    first17 = "91110000802100434"
    both = check_uscc(first17 + "B")
    assert (both.ok, both.overridable) == (False, True)
    assert "第17位组织机构代码校验位应为3" in both.message
    assert "第18位校验码应为" in both.message
    alone = check_uscc(first17 + uscc_check_char(first17))
    assert (alone.ok, alone.overridable) == (False, True)
    assert "第17位组织机构代码校验位应为3" in alone.message
    assert "第18位" not in alone.message


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("", "请填写"),
        ("9135010M000100Y43", "18位"),
        ("91350100M0001O0Y43", "不允许的字符（O）"),
        ("91350100M000100S43", "不允许的字符（S）"),
        ("B1350100M000100Y43", "登记管理部门码"),
        ("94350100M000100Y43", "机构类别码"),
        ("9135A100M000100Y43", "行政区划码"),
    ],
)
def test_uscc_format_problems_are_not_overridable(code: str, fragment: str) -> None:
    result = check_uscc(code)
    assert not result.ok
    assert not result.overridable
    assert fragment in result.message


def test_make_uscc_produces_valid_codes() -> None:
    code = make_uscc("320506", "MA1XYW23")
    assert code.startswith("91320506MA1XYW23")
    assert check_uscc(code).ok
    village = make_uscc("320506", "12345678", dept="N", category="2")
    assert village.startswith("N2")
    assert check_uscc(village).ok
    with pytest.raises(ValueError):
        make_uscc("320506", "12345678", dept="9", category="9")
    with pytest.raises(ValueError):
        make_uscc("320506", "1234567I")
    with pytest.raises(ValueError):
        make_uscc("32050", "12345678")


_org_bodies = st.text(alphabet=USCC_CHARSET, min_size=8, max_size=8)
_dept_category = st.sampled_from([d + c for d, (_, cats) in USCC_DEPARTMENTS.items() for c in cats])


@given(
    pair=_dept_category,
    region=st.from_regex(r"[0-9]{6}", fullmatch=True),
    body=_org_bodies,
    index=st.integers(min_value=0, max_value=16),
    shift=st.integers(min_value=1, max_value=30),
)
def test_property_uscc_generated_pass_and_single_change_fails(
    pair: str, region: str, body: str, index: int, shift: int
) -> None:
    code = make_uscc(region, body, dept=pair[0], category=pair[1])
    assert check_uscc(code) == CheckResult(ok=True, value=code)
    new_char = USCC_CHARSET[(USCC_CHARSET.index(code[index]) + shift) % 31]
    assert not check_uscc(_with_char(code, index, new_char)).ok


# --- Phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "8613812345678"],
)
def test_mobile_forms_normalise_to_11_digits(raw: str) -> None:
    assert check_mobile(raw) == CheckResult(ok=True, value="13812345678")


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "1381234567a"])
def test_bad_mobiles(raw: str) -> None:
    result = check_mobile(raw)
    assert not result.ok
    assert not result.overridable
    assert result.message == "手机号码应为11位数字，以13–19开头"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0512-65221234", "0512-65221234"),
        ("0512 6522 1234", "0512-65221234"),
        ("(0512)65221234", "0512-65221234"),
        ("051265221234", "0512-65221234"),
        ("010-88886666", "010-88886666"),
        ("02162345678", "021-62345678"),
        ("0931-8123456", "0931-8123456"),
        ("0512-65221234-801", "0512-65221234转801"),
        ("0512-65221234转801", "0512-65221234转801"),
    ],
)
def test_landline_forms(raw: str, expected: str) -> None:
    assert check_landline(raw) == CheckResult(ok=True, value=expected)


@pytest.mark.parametrize("raw", ["65221234", "0512-123456", "0512-05221234", "0210-65221234"])
def test_bad_landlines(raw: str) -> None:
    result = check_landline(raw)
    assert not result.ok
    assert "区号" in result.message


def test_check_phone_accepts_either_kind() -> None:
    assert check_phone("+86 139-0000-1111").value == "13900001111"
    assert check_phone("0512 65221234").value == "0512-65221234"
    assert check_phone("").message == "请填写联系电话"
    bad = check_phone("12345")
    assert not bad.ok
    assert not bad.overridable
    assert "联系电话" in bad.message


# --- Other ID types --------------------------------------------------------------------------


def test_id_types_cover_the_common_documents() -> None:
    labels = set(ID_TYPES.values())
    assert {"护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证"} <= labels
    assert {"外国人永久居留身份证", "军官证"} <= labels
    assert "居民身份证" not in labels


def test_check_other_id() -> None:
    assert check_other_id("passport", " e1234 5678 ") == CheckResult(ok=True, value="E12345678")
    assert check_other_id("military_officer", "南字第123456号").ok
    short = check_other_id("passport", "E12")
    assert not short.ok
    assert not short.overridable
    assert short.message == "护照号码应为5–30位"
    assert not check_other_id("passport", "E1234-5678").ok
    assert not check_other_id("passport", "E" * 31).ok
    assert check_other_id("passport", "").message == "请填写护照号码"
    assert "不支持的证件类型" in check_other_id("library_card", "E12345678").message
