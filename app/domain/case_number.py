"""Human-readable case numbers that cannot collide across desks, even offline."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date

from app.domain.errors import ValidationError

_TOWNSHIP = re.compile(r"^\d{9}$")
_DESK = re.compile(r"^[A-Z0-9]{2}$")
_CASE_NO = re.compile(r"^(\d{9})-([A-Z0-9]{2})-(\d{8})-(\d{4})$")
QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud to citizens


@dataclass(frozen=True)
class CaseNumber:
    """区划代码(9) - 窗口代码(2) - 日期(8) - 序号(4), e.g. 370999101-A1-20261122-0007."""

    township: str
    desk: str
    day: date
    serial: int

    def __str__(self) -> str:
        return f"{self.township}-{self.desk}-{self.day:%Y%m%d}-{self.serial:04d}"


def check_township_code(code: str) -> str:
    if not _TOWNSHIP.match(code):
        raise ValidationError("乡镇区划代码应为9位数字（县级6位+乡镇3位）", field="township")
    return code


def check_desk_code(code: str) -> str:
    code = code.strip().upper()
    if not _DESK.match(code):
        raise ValidationError("窗口代码应为2位大写字母或数字（如A1）", field="desk")
    return code


def make_case_no(township: str, desk: str, day: date, serial: int) -> str:
    if not 1 <= serial <= 9999:
        raise ValidationError("本窗口当日办件序号已用完（每日最多9999件）", field="serial")
    return str(CaseNumber(check_township_code(township), check_desk_code(desk), day, serial))


def parse_case_no(value: str) -> CaseNumber:
    match = _CASE_NO.match(value.strip().upper())
    if not match:
        raise ValidationError("办件编号格式应为：区划代码-窗口代码-日期-序号", field="case_no")
    township, desk, day, serial = match.groups()
    try:
        parsed_day = date(int(day[:4]), int(day[4:6]), int(day[6:]))
    except ValueError:
        raise ValidationError("办件编号中的日期无效", field="case_no") from None
    return CaseNumber(township, desk, parsed_day, int(serial))


def progress_link(base_url: str, case_no: str, query_code: str) -> str:
    """The address in a receipt's QR code: the county's public progress page for this case
    (`/progress?no=…&code=…`, the parameters the county server's page reads)."""
    return f"{base_url.rstrip('/?')}?no={case_no}&code={query_code}"


def new_query_code() -> str:
    """The 6-character code printed on the receipt for the public progress lookup."""
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(6))
