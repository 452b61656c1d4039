"""The one place where ID numbers, phones, names and addresses are masked for display."""

from __future__ import annotations

import re

from forms.validators import check_landline, check_mobile, resident_id_check_char

# Compound surnames keep both characters so that "欧阳娜娜" reads "欧阳**", not "欧***".
_COMPOUND_SURNAME_TEXT = (
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 "
    "夏侯 轩辕 端木 独孤 南宫 西门 万俟 闻人 澹台 公冶 宗政 濮阳 淳于 "
    "单于 太叔 申屠 钟离 赫连 呼延 拓跋 百里 东郭 左丘 第五 司空 司寇 "
    "亓官 羊舌 微生 梁丘 公良 乐正 漆雕 壤驷 公西 巫马 谷梁 段干 仲孙 "
    "叔孙 闾丘 东门 公羊 鲜于 "
)
_COMPOUND_SURNAMES = frozenset(_COMPOUND_SURNAME_TEXT.split())

# ASCII letters count as part of a token too: hex digests must not yield false positives.
_BEFORE = r"(?<![0-9A-Za-z])"
_AFTER = r"(?![0-9A-Za-z])"
_ID18_IN_TEXT = re.compile(rf"{_BEFORE}([0-9]{{17}}[0-9Xx]){_AFTER}")
_MOBILE_IN_TEXT = re.compile(
    rf"{_BEFORE}(?:\+?86[- ]?)?(1[3-9][0-9])[- ]?([0-9]{{4}})[- ]?([0-9]{{4}}){_AFTER}"
)


def _stars(count: int) -> str:
    return "*" * count


def _mask_generic(text: str) -> str:
    """Keep at most the first and the last 2–4 characters, always masking at least half."""
    length = len(text)
    if length >= 6:
        head, tail = 1, min(4, length // 2 - 1)
    elif length >= 4:
        head, tail = 0, 2
    else:
        return _stars(length)
    return text[:head] + _stars(length - head - tail) + text[length - tail :]


def mask_id(value: str) -> str:
    """18 digits → "110***********1234": region prefix and sequence only, never the birth date.

    A legacy 15-digit number keeps its last 3 (not 4) because its 12th digit is the last digit
    of the birth day.
    """
    text = value.strip()
    if len(text) == 18:
        return text[:3] + _stars(11) + text[-4:]
    if len(text) == 15:
        return text[:3] + _stars(9) + text[-3:]
    return _mask_generic(text)


def mask_phone(value: str) -> str:
    """Mobile → "138****5678"; landline → "0512-****5678"; anything else keeps its last 4."""
    text = value.strip()
    if not text:
        return ""
    mobile = check_mobile(text)
    if mobile.ok:
        return mobile.value[:3] + _stars(4) + mobile.value[-4:]
    landline = check_landline(text)
    if landline.ok:
        area, _, rest = landline.value.partition("-")
        number, separator, extension = rest.partition("转")
        return f"{area}-{_stars(len(number) - 4)}{number[-4:]}{separator}{extension}"
    if len(text) <= 4:
        return _stars(len(text))
    return _stars(len(text) - 4) + text[-4:]


def mask_uscc(value: str) -> str:
    """Returned unchanged: a 统一社会信用代码 identifies an organisation, not a person.

    It is printed on the business licence and published in the national enterprise credit
    information system, so masking it protects nobody and stops staff from checking it.
    """
    return value


def mask_name(value: str) -> str:
    """For the public progress page: "张*", "张**", "欧阳**" (the surname stays readable)."""
    text = value.strip()
    if not text:
        return ""
    keep = 2 if len(text) > 2 and text[:2] in _COMPOUND_SURNAMES else 1
    return text[:keep] + _stars(max(1, len(text) - keep))


def mask_address(value: str) -> str:
    """The first 6 characters + "****"; a short address keeps at most half of itself."""
    text = value.strip()
    if not text:
        return ""
    return text[: min(6, len(text) // 2)] + "****"


def find_unmasked_ids(text: str) -> list[str]:
    """Plain 18-digit ID numbers (valid GB 11643 checksum) and mobile numbers found in `text`.

    Used by tests and scanners to prove that nothing leaked unmasked. Results are normalised
    (upper-case X, mobile as 11 digits) and in order of appearance. Legacy 15-digit numbers
    have no checksum and would match any 15-digit number, so they are not searched for.
    """
    found: list[tuple[int, str]] = []
    for match in _ID18_IN_TEXT.finditer(text):
        number = match.group(1).upper()
        if resident_id_check_char(number[:17]) == number[17]:
            found.append((match.start(), number))
    for match in _MOBILE_IN_TEXT.finditer(text):
        found.append((match.start(), "".join(match.groups())))
    return [number for _, number in sorted(found)]
