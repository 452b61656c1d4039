"""Helpers for the county server tests: package payloads, tiny valid files, auth headers."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Any

from forms.validators import make_resident_id

TOWNSHIP = "370999101"
OTHER = "370999102"
APPLICANT_NAME = "欧阳晓明"
PROXY_NAME = "李代办"
APPLICANT_ID = make_resident_id("370999", date(1981, 3, 4), 21)
PROXY_ID = make_resident_id("370999", date(1975, 7, 8), 33)
APPLICANT_PHONE = "13912345678"
PROXY_PHONE = "13787654321"
ADDRESS = "青禾县青禾镇幸福路18号3单元"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"\x11" * 40


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def attachment(data: bytes, mime: str = "application/pdf", material: str = "") -> dict[str, Any]:
    return {"sha256": sha(data), "size": len(data), "mime": mime, "material": material}


def package(
    township: str = TOWNSHIP,
    serial: int = 1,
    *,
    case_uuid: str | None = None,
    revision: int = 1,
    action: str = "hand_off",
    attachments: list[dict[str, Any]] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A valid 帮代办 package as JSON data (override any field by keyword)."""
    data: dict[str, Any] = {
        "case_uuid": case_uuid or str(uuid.uuid4()),
        "revision": revision,
        "action": action,
        "reason": "",
        "township": township,
        "case_no": f"{township}-A1-20261116-{serial:04d}",
        "query_code": "K7M3Q9",
        "item_code": "370999-XK-0101",
        "item_name": "残疾人两项补贴申请",
        "catalog_version": "2026.11.1",
        "kind": "promised",
        "limit_days": 10,
        "accepted_on": "2026-11-16",
        "handed_off_on": "2026-11-16",
        "deadline": "2026-11-30",
        "applicant": {
            "name": APPLICANT_NAME,
            "id_type": "居民身份证",
            "id_number": APPLICANT_ID,
            "phone": APPLICANT_PHONE,
            "address": ADDRESS,
            "kind": "person",
        },
        "proxy": {
            "name": PROXY_NAME,
            "id_number": PROXY_ID,
            "phone": PROXY_PHONE,
            "relation": "村帮代办员",
        },
        "authorisation": "已签署帮代办委托书",
        "commitment": False,
        "form_data": {"disability_level": "二级", "household_size": 3, "confirmed": True},
        "materials": [
            {"name": "居民身份证", "required": True, "status": "received", "form": "复印件"},
            {"name": "残疾人证", "required": True, "status": "received", "form": "原件"},
        ],
        "attachments": attachments if attachments is not None else [],
    }
    data.update(changes)
    return data
