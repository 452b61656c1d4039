"""Field checks: 居民身份证 (GB 11643), 统一社会信用代码 (GB 32100), phones, other ID types."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check; `value` is the normalised input, also when the check fails.

    `overridable` is True only when the sole problem is a checksum mismatch: real documents
    exist that fail their checksum, so the clerk may continue after recording a reason.
    """

    ok: bool
    value: str
    message: str = ""
    overridable: bool = False


def _passed(value: str) -> CheckResult:
    return CheckResult(ok=True, value=value)


def _failed(value: str, message: str, *, overridable: bool = False) -> CheckResult:
    return CheckResult(ok=False, value=value, message=message, overridable=overridable)


def _normalise(raw: str) -> str:
    """NFKC turns full-width digits and letters (IME full-width mode) into ASCII."""
    return "".join(unicodedata.normalize("NFKC", raw).split()).upper()


# --- 居民身份证 (GB 11643-1999) -------------------------------------------------------------

PROVINCE_CODES: frozenset[str] = frozenset(
    [
        f"{n}"
        for first, last in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65))
        for n in range(first, last + 1)
    ]
    + ["71", "81", "82"]
)
# ISO 7064 MOD 11-2: weight of position i (from the left) is 2^(17-i) mod 11.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11
_ID18_RE = re.compile(r"[0-9]{17}[0-9X]")
_ID15_RE = re.compile(r"[0-9]{15}")
_DIGITS6_RE = re.compile(r"[0-9]{6}")
_EARLIEST_BIRTH = date(1900, 1, 1)
_CHECKSUM_HINT = "请核对证件；如证件本身如此，可填写原因后继续"
_LICENCE_HINT = "请核对证照；如证照本身如此，可填写原因后继续"


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 check character ('0'–'9' or 'X') for the first 17 digits."""
    if not re.fullmatch(r"[0-9]{17}", first17):
        raise ValueError("身份证号码本体码应为17位数字")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _region_problem(region: str) -> str | None:
    if region[:2] not in PROVINCE_CODES:
        return f"身份证号码前两位（{region[:2]}）不是有效的省级行政区划代码"
    if region[2:] == "0000":
        return f"身份证号码前六位地址码（{region}）不是县级行政区划代码"
    return None


def _parse_yyyymmdd(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _birth_problem(yyyymmdd: str, today: date) -> str | None:
    shown = f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    born = _parse_yyyymmdd(yyyymmdd)
    if born is None:
        return f"身份证号码中的出生日期无效（{shown}）"
    if born > today:
        return f"身份证号码中的出生日期（{shown}）晚于今天"
    if born < _EARLIEST_BIRTH:
        return f"身份证号码中的出生日期（{shown}）早于1900年1月1日"
    return None


def _birth_digits(value: str) -> str:
    """YYYYMMDD of an 18-digit number, or of a 15-digit one (always born in the 1900s)."""
    return value[6:14] if len(value) == 18 else "19" + value[6:12]


def check_resident_id(raw: str, *, today: date | None = None) -> CheckResult:
    """Check a 居民身份证 number: 18 digits (last may be X) or a legacy 15-digit number."""
    value = _normalise(raw)
    if not value:
        return _failed(value, "请填写身份证号码")
    if len(value) not in (15, 18):
        return _failed(value, "身份证号码应为18位（或旧版15位）")
    if len(value) == 18 and not _ID18_RE.fullmatch(value):
        return _failed(value, "身份证号码只能由数字组成，18位号码的最后一位可以是X")
    if len(value) == 15 and not _ID15_RE.fullmatch(value):
        return _failed(value, "旧版15位身份证号码只能由数字组成")
    problem = _region_problem(value[:6]) or _birth_problem(
        _birth_digits(value), today or date.today()
    )
    if problem:
        return _failed(value, problem)
    if len(value) == 15:
        return _passed(value)
    expected = resident_id_check_char(value[:17])
    if value[17] != expected:
        message = f"身份证号码校验位不符（应为{expected}），{_CHECKSUM_HINT}"
        return _failed(value, message, overridable=True)
    return _passed(value)


def upgrade_legacy_id(id15: str) -> str:
    """The 18-digit form of a valid legacy 15-digit number (century 19, computed check char)."""
    result = check_resident_id(id15)
    if not result.ok:
        raise ValueError(result.message)
    if len(result.value) != 15:
        raise ValueError("只有旧版15位身份证号码可以升级为18位")
    first17 = result.value[:6] + "19" + result.value[6:]
    return first17 + resident_id_check_char(first17)


def birth_date_from_id(id_number: str) -> date | None:
    """Birth date encoded in an 18- or 15-digit number; None if the shape or date is invalid."""
    value = _normalise(id_number)
    if not (_ID18_RE.fullmatch(value) or _ID15_RE.fullmatch(value)):
        return None
    return _parse_yyyymmdd(_birth_digits(value))


def gender_from_id(id_number: str) -> str | None:
    """ "男" for an odd sequence digit, "女" for an even one; None if the shape is invalid."""
    value = _normalise(id_number)
    if _ID18_RE.fullmatch(value):
        digit = int(value[16])
    elif _ID15_RE.fullmatch(value):
        digit = int(value[14])
    else:
        return None
    return "男" if digit % 2 else "女"


def make_resident_id(region: str, birth: date, seq: int) -> str:
    """A valid fictitious 18-digit number (demo data and tests)."""
    if not _DIGITS6_RE.fullmatch(region) or _region_problem(region):
        raise ValueError(f"地址码无效：{region}")
    if birth < _EARLIEST_BIRTH:
        raise ValueError("出生日期不能早于1900年1月1日")
    if not 0 <= seq <= 999:
        raise ValueError("顺序码应在0–999之间")
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + resident_id_check_char(first17)


# --- 统一社会信用代码 (GB 32100-2015) -------------------------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
# 登记管理部门码 -> (department, allowed 机构类别码), from the GB 32100 code table.
USCC_DEPARTMENTS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "1": ("机构编制", "1239"),
        "2": ("外交", "19"),
        "3": ("司法行政", "123459"),
        "4": ("文化", "19"),
        "5": ("民政", "1239"),
        "6": ("旅游", "129"),
        "7": ("宗教", "129"),
        "8": ("工会", "19"),
        "9": ("工商", "123"),
        "A": ("中央军委改革和编制办公室", "19"),
        "N": ("农业", "1239"),
        "Y": ("其他", "1"),
    }
)
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # ISO 7064 MOD 31-3
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714
_ORG_BODY_RE = re.compile(r"[0-9A-Z]{8}")


def org_code_check_char(first8: str) -> str:
    """The GB 11714 organisation-code check character ('0'–'9' or 'X')."""
    if not _ORG_BODY_RE.fullmatch(first8):
        raise ValueError("组织机构代码本体应为8位数字或大写字母")
    # int(c, 36) maps 0-9 to 0-9 and A-Z to 10-35, exactly the GB 11714 character values.
    total = sum(int(c, 36) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    remainder = (11 - total % 11) % 11
    return "X" if remainder == 10 else str(remainder)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    if len(first17) != 17 or any(c not in USCC_CHARSET for c in first17):
        raise ValueError("统一社会信用代码前17位应由数字和允许的大写字母组成")
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def _uscc_shape_problem(value: str) -> str | None:
    if len(value) != 18:
        return "统一社会信用代码应为18位"
    bad = sorted({c for c in value if c not in USCC_CHARSET})
    if bad:
        shown = "、".join(bad)
        return f"统一社会信用代码含有不允许的字符（{shown}）；代码不使用字母I、O、Z、S、V"
    department = USCC_DEPARTMENTS.get(value[0])
    if department is None:
        return f"统一社会信用代码第1位（登记管理部门码{value[0]}）无效"
    if value[1] not in department[1]:
        return f"统一社会信用代码第2位（机构类别码{value[1]}）与登记管理部门（{department[0]}）不符"
    if not _DIGITS6_RE.fullmatch(value[2:8]):
        return "统一社会信用代码第3–8位应为6位数字的行政区划码"
    return None


def check_uscc(raw: str) -> CheckResult:
    """Check a 统一社会信用代码: shape, embedded organisation code check, final check char."""
    value = _normalise(raw)
    if not value:
        return _failed(value, "请填写统一社会信用代码")
    problem = _uscc_shape_problem(value)
    if problem:
        return _failed(value, problem)
    mismatches = []
    org_expected = org_code_check_char(value[8:16])
    if value[16] != org_expected:
        mismatches.append(f"第17位组织机构代码校验位应为{org_expected}")
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        mismatches.append(f"第18位校验码应为{expected}")
    if mismatches:
        detail = "，".join(mismatches)
        message = (
            f"统一社会信用代码校验不符（{detail}），请核对证照；如证照本身如此，可填写原因后继续"
        )
        return _failed(value, message, overridable=True)
    return _passed(value)


def make_uscc(region: str, org_body: str, *, dept: str = "9", category: str = "1") -> str:
    """A valid fictitious code (default 工商/企业); `org_body` is the 8-char organisation body."""
    department = USCC_DEPARTMENTS.get(dept)
    if department is None or category not in department[1]:
        raise ValueError(f"登记管理部门码或机构类别码无效：{dept}{category}")
    if not _DIGITS6_RE.fullmatch(region):
        raise ValueError(f"行政区划码应为6位数字：{region}")
    if not _ORG_BODY_RE.fullmatch(org_body) or any(c not in USCC_CHARSET for c in org_body):
        raise ValueError(f"组织机构代码本体无效：{org_body}")
    first17 = dept + category + region + org_body + org_code_check_char(org_body)
    return first17 + uscc_check_char(first17)


# --- Phone numbers ---------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
# Area codes 010 and 02X have three digits, all others four; local numbers start with 2–9.
_LANDLINE_RE = re.compile(
    r"\(?(0(?:10|2[0-9]|[3-9][0-9]{2}))\)?-?([2-9][0-9]{6,7})(?:(?:-|转)([0-9]{1,6}))?"
)


def _compact_phone(raw: str) -> str:
    return "".join(unicodedata.normalize("NFKC", raw).split())


def check_mobile(raw: str) -> CheckResult:
    """Mainland mobile number; "+86"/"86" prefix, spaces and dashes allowed; → 11 digits."""
    value = _compact_phone(raw).replace("-", "")
    if not value:
        return _failed(value, "请填写手机号码")
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not _MOBILE_RE.fullmatch(value):
        return _failed(value, "手机号码应为11位数字，以13–19开头")
    return _passed(value)


def check_landline(raw: str) -> CheckResult:
    """Area code + 7–8 digit number, optional extension; → "0512-65221234" or "…转801"."""
    value = _compact_phone(raw)
    if not value:
        return _failed(value, "请填写固定电话")
    match = _LANDLINE_RE.fullmatch(value)
    if match is None:
        return _failed(value, "固定电话应为区号加7–8位号码，例如0512-65221234（分机可写作“转801”）")
    area, number, extension = match.groups()
    return _passed(f"{area}-{number}" + (f"转{extension}" if extension else ""))


_PHONE_HINT = "请填写有效的联系电话：11位手机号码，或带区号的固定电话（例如0512-65221234）"


def check_phone(raw: str) -> CheckResult:
    """A mobile or a landline number, whichever the input is."""
    mobile = check_mobile(raw)
    if mobile.ok:
        return mobile
    landline = check_landline(raw)
    if landline.ok:
        return landline
    value = _compact_phone(raw)
    if not value:
        return _failed(value, "请填写联系电话")
    return _failed(
        value, "请填写有效的联系电话：11位手机号码，或带区号的固定电话（例如0512-65221234）"
    )


# --- Other ID types --------------------------------------------------------------------------

RESIDENT_ID_LABEL = "居民身份证"
# Accepted ID types besides 居民身份证 (code -> label shown to the user).
ID_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "passport": "护照",
        "hk_macao_permit": "港澳居民来往内地通行证",
        "taiwan_permit": "台湾居民来往大陆通行证",
        "foreign_permanent_resident": "外国人永久居留身份证",
        "hk_macao_taiwan_residence": "港澳台居民居住证",
        "military_officer": "军官证",
        "soldier": "士兵证",
        "armed_police_officer": "武警警官证",
    }
)


def check_other_id(id_type: str, raw: str) -> CheckResult:
    """Light shape check: 5–30 letters or digits (军官证 numbers may contain Chinese characters)."""
    value = _normalise(raw)
    label = ID_TYPES.get(id_type)
    if label is None:
        return _failed(value, f"不支持的证件类型（{id_type}）")
    if not value:
        return _failed(value, f"请填写{label}号码")
    if not 5 <= len(value) <= 30:
        return _failed(value, f"{label}号码应为5–30位")
    if not all(c.isalnum() for c in value):
        return _failed(value, f"{label}号码只能包含字母和数字")
    return _passed(value)
