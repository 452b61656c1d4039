"""Tests for app.domain.masking: masked display forms and the plaintext leak scanner."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.masking import (
    find_unmasked_ids,
    mask_address,
    mask_id,
    mask_name,
    mask_phone,
    mask_uscc,
)
from forms.validators import make_resident_id, resident_id_check_char

ID_NUMBER = "11010519491231002X"


def test_mask_id_18_digits_hides_the_birth_date() -> None:
    assert mask_id(ID_NUMBER) == "110***********002X"
    assert mask_id("110105194912311234") == "110***********1234"
    assert "19491231" not in mask_id(ID_NUMBER)


def test_mask_id_15_digits_hides_every_birth_digit() -> None:
    # Positions 7–12 of a legacy number are YYMMDD; the last three are the sequence.
    assert mask_id("110105491231002") == "110*********002"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ""),
        ("E1", "**"),
        ("ABC", "***"),
        ("ABCD", "**CD"),
        ("ABCDE", "***DE"),
        ("E12345", "E***45"),
        ("E12345678", "E*****678"),
        ("H1234567890", "H******7890"),
        ("南字第123456号", "南*****456号"),
    ],
)
def test_mask_id_other_lengths_masks_at_least_half(value: str, expected: str) -> None:
    masked = mask_id(value)
    assert masked == expected
    assert masked.count("*") * 2 >= len(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("0512-65225678", "0512-****5678"),
        ("010 88886666", "010-****6666"),
        ("0931-8125678", "0931-***5678"),
        ("0512-65225678转801", "0512-****5678转801"),
        ("95588123", "****8123"),
        ("110", "***"),
        ("", ""),
    ],
)
def test_mask_phone(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


def test_mask_uscc_is_identity() -> None:
    assert mask_uscc("91350100M000100Y43") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳锋", "欧阳*"),
        ("欧阳", "欧*"),
        ("张", "张*"),
        (" 李四 ", "李*"),
        ("", ""),
    ],
)
def test_mask_name(value: str, expected: str) -> None:
    assert mask_name(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("江苏省苏州市吴中区木渎镇金山路88号", "江苏省苏州市****"),
        ("幸福村3组5号", "幸福村****"),
        ("", ""),
    ],
)
def test_mask_address(value: str, expected: str) -> None:
    assert mask_address(value) == expected


def test_find_unmasked_ids_finds_planted_numbers_in_order() -> None:
    generated = make_resident_id("320506", date(1985, 7, 9), 123)
    text = (
        f"申请人 {ID_NUMBER.lower()}，电话13812345678；代办人身份证：{generated}"
        "，另一号码 +86 139-0000-1111，备用8613700002222。"
    )
    expected = [ID_NUMBER, "13812345678", generated, "13900001111", "13700002222"]
    assert find_unmasked_ids(text) == expected


def test_find_unmasked_ids_ignores_masked_and_invalid_numbers() -> None:
    wrong_checksum = ID_NUMBER[:17] + "1"
    text = (
        f"{mask_id(ID_NUMBER)} {mask_phone('13812345678')} {wrong_checksum} "
        "12812345678 1381234567 138123456789 0512-65221234 "
        # Digit runs glued to letters are parts of hex digests, not numbers: even a run with
        # a valid checksum (320506198507090030) is not reported there.
        "sha256=ab320506198507090030 md5=ef13812345678"
    )
    assert find_unmasked_ids(text) == []


def test_find_unmasked_ids_in_empty_text() -> None:
    assert find_unmasked_ids("") == []


@given(
    first17=st.from_regex(r"[0-9]{17}", fullmatch=True),
    prefix=st.sampled_from(["", "号码：", "id=", " "]),
)
def test_property_scanner_accepts_exactly_valid_checksums(first17: str, prefix: str) -> None:
    correct = resident_id_check_char(first17)
    for last in "0123456789X":
        found = find_unmasked_ids(f"{prefix}{first17}{last}。")
        assert found == ([first17 + last] if last == correct else [])
