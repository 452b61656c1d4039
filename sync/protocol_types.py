"""Constrained field types of the sync protocol: bounded, single-line, ISO dates, no NUL."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)

from app.domain.case_number import QUERY_CODE_ALPHABET
from forms.validators import check_other_id, check_phone, check_resident_id, check_uscc

MAX_BLOB_BYTES = 20 * 1024 * 1024
RESIDENT_ID = "居民身份证"
USCC = "统一社会信用代码"
MIN_OVERRIDE_REASON = 4


# Unicode's control characters (category Cc: exactly U+0000–U+001F and U+007F–U+009F), with
# tab and newline allowed where text may have several lines. One regex search per field: every
# package a township sends passes here for each of its texts.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain_text(value: str, *, multiline: bool) -> str:
    # PostgreSQL cannot store NUL, and control characters only hide text from the reader.
    if (_CONTROL_BUT_LINES if multiline else _CONTROL).search(value):
        raise ValueError("不能包含控制字符" + ("" if multiline else "或换行"))
    return value


def _line(value: str) -> str:
    return _plain_text(value, multiline=False)


def _lines(value: str) -> str:
    return _plain_text(value, multiline=True)


def _iso_date(value: object) -> object:
    """Dates only as YYYY-MM-DD (lax parsing would also take timestamps and datetimes)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("应为真实的日期，格式如 2026-12-01")


def _iso_datetime(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.+\-Z]{5,}", value
    ):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("应为日期时间，格式如 2026-12-01T09:30:00")


Line = Annotated[str, AfterValidator(_line)]
Name = Annotated[Line, StringConstraints(min_length=1, max_length=100)]
Label = Annotated[Line, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, AfterValidator(_lines), StringConstraints(min_length=2, max_length=2000)]
Note = Annotated[str, AfterValidator(_lines), StringConstraints(max_length=2000)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
# The county's local time (Beijing) without a zone, as the server sends it: the schema says
# so, since OpenAPI's "date-time" format requires an offset.
LOCAL_DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$"
IsoDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_datetime),
    WithJsonSchema(
        {"type": "string", "pattern": LOCAL_DATETIME_PATTERN, "description": "北京时间，不带时区"}
    ),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
TownshipCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
CaseNo = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}-[A-Z0-9]{2}-[0-9]{8}-[0-9]{4}$")]
QueryCode = Annotated[str, StringConstraints(pattern=f"^[{QUERY_CODE_ALPHABET}]{{6}}$")]
CatalogVersion = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}\.[0-9]{1,2}\.[0-9]{1,3}$")]
Revision = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
FieldKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
FormText = Annotated[str, AfterValidator(_lines), StringConstraints(max_length=5000)]
FormInt = Annotated[StrictInt, Field(ge=-(10**15), le=10**15)]
FormValue = StrictBool | FormInt | StrictFloat | FormText | None


class Model(BaseModel):
    """The base of every protocol model: unknown fields refused, NaN and Infinity refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


def check_id_number(id_type: str, number: str, override_reason: str) -> str:
    """The normalised number; a checksum-only failure passes when a reason was recorded."""
    if id_type == RESIDENT_ID:
        result = check_resident_id(number)
    elif id_type == USCC:
        result = check_uscc(number)
    else:
        result = check_other_id(id_type, number)
    if result.ok or (result.overridable and len(override_reason) >= MIN_OVERRIDE_REASON):
        return result.value
    raise ValueError(result.message)


def check_phone_number(value: str) -> str:
    """A mobile or landline number in its normalised form."""
    result = check_phone(value)
    if not result.ok:
        raise ValueError(result.message)
    return result.value
