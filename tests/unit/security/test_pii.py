"""Tests for app.security.pii: column encryption, tamper detection, blind and tail indexes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import KnownError
from app.security.pii import (
    KIND_ID_NUMBER,
    KIND_NAME,
    KIND_PHONE,
    PiiCipher,
    PiiDecryptError,
    generate_master_key,
    normalize_pii,
)

KEY = bytes(range(32))
ID_CTX = "applicant.id_number"


@pytest.fixture
def cipher() -> PiiCipher:
    return PiiCipher(KEY)


def test_master_key_is_32_random_bytes() -> None:
    first, second = generate_master_key(), generate_master_key()
    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_cipher_rejects_wrong_key_length(length: int) -> None:
    with pytest.raises(ValueError):
        PiiCipher(b"\x00" * length)


@given(st.text())
def test_round_trip_any_text(text: str) -> None:
    cipher = PiiCipher(KEY)
    assert cipher.decrypt(cipher.encrypt(text, context=ID_CTX), context=ID_CTX) == text


def test_blob_layout_and_fresh_nonce(cipher: PiiCipher) -> None:
    first = cipher.encrypt("11010519491231002X", context=ID_CTX)
    second = cipher.encrypt("11010519491231002X", context=ID_CTX)
    assert first[0] == 1
    assert len(first) == 1 + 12 + len("11010519491231002X") + 16
    assert first[1:13] != second[1:13]
    assert b"11010519491231002X" not in first


def test_value_cannot_move_to_another_column(cipher: PiiCipher) -> None:
    blob = cipher.encrypt("13800138000", context="applicant.phone")
    with pytest.raises(PiiDecryptError):
        cipher.decrypt(blob, context="proxy.phone")


def test_wrong_key_fails_with_chinese_message(cipher: PiiCipher) -> None:
    blob = cipher.encrypt("张三", context="applicant.name")
    with pytest.raises(PiiDecryptError) as caught:
        PiiCipher(generate_master_key()).decrypt(blob, context="applicant.name")
    assert isinstance(caught.value, KnownError)
    assert caught.value.message == "个人信息解密失败：密钥不匹配或数据已损坏"


@pytest.mark.parametrize("position", [0, 1, 12, 13, -1])
def test_any_flipped_byte_is_detected(cipher: PiiCipher, position: int) -> None:
    blob = bytearray(cipher.encrypt("11010519491231002X", context=ID_CTX))
    blob[position] ^= 0x01
    with pytest.raises(PiiDecryptError):
        cipher.decrypt(bytes(blob), context=ID_CTX)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x01" + b"\x00" * 27])
def test_truncated_blob_is_rejected(cipher: PiiCipher, blob: bytes) -> None:
    with pytest.raises(PiiDecryptError):
        cipher.decrypt(blob, context=ID_CTX)


def test_empty_context_is_a_programming_error(cipher: PiiCipher) -> None:
    with pytest.raises(ValueError):
        cipher.encrypt("x", context="")


def test_repr_hides_the_key(cipher: PiiCipher) -> None:
    assert KEY.hex() not in repr(cipher)


# --- blind and tail indexes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["13800138000", "138 0013 8000", "+8613800138000", "+86 138-0013-8000", "008613800138000",
     "8613800138000", "１３８００１３８０００"],
)  # fmt: skip
def test_phone_spellings_share_one_index(cipher: PiiCipher, typed: str) -> None:
    assert normalize_pii(typed, kind=KIND_PHONE) == "13800138000"
    assert cipher.blind_index(typed, kind=KIND_PHONE) == cipher.blind_index(
        "13800138000", kind=KIND_PHONE
    )


def test_other_numbers_get_other_indexes(cipher: PiiCipher) -> None:
    base = cipher.blind_index("13800138000", kind=KIND_PHONE)
    assert cipher.blind_index("13800138001", kind=KIND_PHONE) != base
    assert cipher.blind_index("13900138000", kind=KIND_PHONE) != base


def test_index_is_hex_sha256(cipher: PiiCipher) -> None:
    index = cipher.blind_index("13800138000", kind=KIND_PHONE)
    assert len(index) == 64
    int(index, 16)


def test_different_keys_give_different_indexes(cipher: PiiCipher) -> None:
    other = PiiCipher(generate_master_key())
    assert cipher.blind_index("13800138000", kind=KIND_PHONE) != other.blind_index(
        "13800138000", kind=KIND_PHONE
    )


def test_same_key_gives_stable_index() -> None:
    assert PiiCipher(KEY).blind_index("张三", kind=KIND_NAME) == PiiCipher(KEY).blind_index(
        "张 三", kind=KIND_NAME
    )


def test_id_number_ignores_case_and_spaces(cipher: PiiCipher) -> None:
    assert cipher.blind_index(" 110105 19491231 002x ", kind=KIND_ID_NUMBER) == cipher.blind_index(
        "11010519491231002X", kind=KIND_ID_NUMBER
    )


def test_kind_separates_index_spaces(cipher: PiiCipher) -> None:
    assert cipher.blind_index("13800138000", kind=KIND_PHONE) != cipher.blind_index(
        "13800138000", kind=KIND_ID_NUMBER
    )


@pytest.mark.parametrize(("value", "kind"), [("", KIND_PHONE), ("  ", KIND_NAME), ("x", "")])
def test_nothing_to_index_is_refused(cipher: PiiCipher, value: str, kind: str) -> None:
    with pytest.raises(ValueError):
        cipher.blind_index(value, kind=kind)


def test_landline_keeps_area_code() -> None:
    assert normalize_pii("0571-8888 6666", kind=KIND_PHONE) == "057188886666"


def test_tail_index_matches_masked_display() -> None:
    assert PiiCipher.tail_index("+86 138 0013 5678", kind=KIND_PHONE) == "5678"
    assert PiiCipher.tail_index("11010519491231002x", kind=KIND_ID_NUMBER) == "002X"
    assert PiiCipher.tail_index("12", kind=KIND_PHONE) == "12"
