"""Tests for app.security.passwords: scrypt hashes, the password policy, initial passwords."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from app.domain.errors import ValidationError
from app.security import passwords
from app.security.passwords import (
    PRODUCTION_PARAMS,
    ScryptParams,
    check_password_policy,
    enforce_password_policy,
    generate_initial_password,
    hash_password,
    needs_rehash,
    set_default_params,
    verify_password,
)

CHEAP = ScryptParams(n=2**4, r=1, p=1)


@pytest.fixture(autouse=True)
def cheap_hashes() -> Iterator[None]:
    previous = set_default_params(CHEAP)
    yield
    set_default_params(previous)


def test_production_default_is_memory_hard() -> None:
    assert ScryptParams(n=2**14, r=8, p=1) == PRODUCTION_PARAMS
    assert PRODUCTION_PARAMS.maxmem >= 16 * 1024 * 1024


def test_set_default_params_returns_previous_and_applies() -> None:
    other = ScryptParams(n=2**5, r=1, p=1)
    assert set_default_params(other) == CHEAP
    assert passwords.get_default_params() == other
    assert hash_password("Abcdef1!").startswith("scrypt$n=32,r=1,p=1$")


def test_hash_format_with_production_params() -> None:
    encoded = hash_password("Zhang#2024x", params=PRODUCTION_PARAMS)
    scheme, params, salt, digest = encoded.split("$")
    assert (scheme, params) == ("scrypt", "n=16384,r=8,p=1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32
    assert verify_password("Zhang#2024x", encoded)


def test_round_trip_and_wrong_password() -> None:
    encoded = hash_password("窗口A岗#2024")
    assert verify_password("窗口A岗#2024", encoded)
    assert not verify_password("窗口A岗#2025", encoded)
    assert not verify_password("", encoded)


def test_same_password_gets_a_fresh_salt() -> None:
    assert hash_password("Abcdef1!") != hash_password("Abcdef1!")


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "scrypt",
        "bcrypt$n=16,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$n=15,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$n=16,r=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$n=16,r=x,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$n=16,r=1,p=1$not base64!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$n=16,r=1,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$n=16,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
        # A tampered cost that would make the login screen allocate far too much memory.
        "scrypt$n=1073741824,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "scrypt$n=16,r=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA$extra",
    ],
)
def test_malformed_encodings_verify_false_and_need_rehash(encoded: str) -> None:
    assert verify_password("anything", encoded) is False
    assert needs_rehash(encoded) is True


def test_tampered_digest_fails() -> None:
    encoded = hash_password("Abcdef1!")
    head, digest = encoded.rsplit("$", 1)
    raw = bytearray(base64.b64decode(digest))
    raw[0] ^= 1
    assert not verify_password("Abcdef1!", head + "$" + base64.b64encode(bytes(raw)).decode())


def test_needs_rehash_follows_params() -> None:
    encoded = hash_password("Abcdef1!")
    assert not needs_rehash(encoded)
    assert not needs_rehash(encoded, CHEAP)
    assert needs_rehash(encoded, PRODUCTION_PARAMS)
    assert not needs_rehash(hash_password("Abcdef1!", params=PRODUCTION_PARAMS), PRODUCTION_PARAMS)


@pytest.mark.parametrize(("n", "r", "p"), [(0, 1, 1), (3, 1, 1), (2**4, 0, 1), (2**4, 1, 0)])
def test_invalid_params_rejected(n: int, r: int, p: int) -> None:
    with pytest.raises(ValueError):
        ScryptParams(n=n, r=r, p=p)


# --- policy ---------------------------------------------------------------------------------


def test_good_password_passes() -> None:
    assert check_password_policy("Xiang#2024", username="zhangsan") == []
    enforce_password_policy("Xiang#2024", username="zhangsan")


@pytest.mark.parametrize(
    ("password", "username", "rule"),
    [
        ("Ab1!xyz", "", passwords.RULE_LENGTH),
        ("abcdefgh1", "", passwords.RULE_KINDS),
        ("ABCDEFGH", "", passwords.RULE_KINDS),
        ("xZhangsan1!", "zhangsan", passwords.RULE_USERNAME),
        ("xZHANGSAN1!", "ZhangSan", passwords.RULE_USERNAME),
        ("aaaaaaaaaa", "", passwords.RULE_SAME_CHAR),
        ("Password1!", "", passwords.RULE_COMMON),
        ("p@ssw0rd", "", passwords.RULE_COMMON),
        ("Admin@123", "", passwords.RULE_COMMON),
    ],
)
def test_each_rule_has_a_failing_example(password: str, username: str, rule: str) -> None:
    problems = check_password_policy(password, username=username)
    assert rule in problems
    with pytest.raises(ValidationError) as caught:
        enforce_password_policy(password, username=username)
    assert rule in caught.value.message
    assert caught.value.field == "password"


def test_only_the_broken_rules_are_reported() -> None:
    assert check_password_policy("Ab1!xyz") == [passwords.RULE_LENGTH]
    assert check_password_policy("abcdefgh1") == [passwords.RULE_KINDS]
    assert check_password_policy("Qwer1234!") == [passwords.RULE_COMMON]


def test_three_kinds_are_enough() -> None:
    assert check_password_policy("abcdefg1!") == []
    assert check_password_policy("ABCDEFG1!") == []
    assert check_password_policy("Abcdefgh!") == []
    assert check_password_policy("Abcdefgh1") == []


def test_all_problems_joined_in_one_message() -> None:
    with pytest.raises(ValidationError) as caught:
        enforce_password_policy("aaa")
    assert caught.value.message == (
        "密码不符合要求：至少8位；至少包含大写字母、小写字母、数字、特殊符号中的3种；"
        "不能全部是同一个字符。"
    )


def test_blank_username_is_ignored() -> None:
    assert check_password_policy("Xiang#2024", username="  ") == []


# --- initial passwords ------------------------------------------------------------------------


def test_generated_passwords_pass_policy_and_avoid_confusables() -> None:
    seen = set()
    for _ in range(200):
        password = generate_initial_password()
        assert len(password) == 12
        assert check_password_policy(password) == []
        assert not set(password) & set("0Oo1lI")
        seen.add(password)
    assert len(seen) == 200


def test_generated_password_avoids_username() -> None:
    # A one-letter name would turn up in roughly a quarter of random passwords.
    for _ in range(50):
        assert "a" not in generate_initial_password(username="A").casefold()
