"""Receiving 帮代办 packages: exactly once per (case UUID, revision), personal data sealed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from app.security.pii import PiiCipher
from sync.protocol import HandoffPackage, HandoffReceipt, PackageAction
from sync.protocol_county import CountyStatus
from sync.server import blobs, store
from sync.server.auth import TownshipPrincipal
from sync.server.casework import after_package
from sync.server.context import CountyServer
from sync.server.errors import ApiError
from sync.server.store import CountyCaseRecord, CountyPackageRecord

# The parts of a package that identify or locate a person, encrypted at rest. Names stay
# readable, as in the township database, so staff lists need no decryption.
SEALED_PATHS: tuple[tuple[str, ...], ...] = (
    ("applicant", "id_number"),
    ("applicant", "phone"),
    ("applicant", "address"),
    ("proxy", "id_number"),
    ("proxy", "phone"),
    ("proxy", "address"),
    ("form_data",),
)
_SEALED = "sealed"


def canonical_json(package: HandoffPackage) -> bytes:
    """The package as sorted, compact UTF-8 JSON: equal content gives equal bytes."""
    data = package.model_dump(mode="json")
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def package_digest(server: CountyServer, package: HandoffPackage) -> str:
    return hmac.new(server.digest_key, canonical_json(package), hashlib.sha256).hexdigest()


def _walk(data: dict[str, Any], path: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    return parent, path[-1]


def seal(cipher: PiiCipher, package: HandoffPackage) -> dict[str, Any]:
    """The package as JSON data with every sealed path encrypted (empty values stay empty)."""
    data = package.model_dump(mode="json")
    for path in SEALED_PATHS:
        parent, key = _walk(data, path)
        value = parent[key]
        if value in ("", {}, None):
            continue
        plain = json.dumps(value, ensure_ascii=False, sort_keys=True)
        blob = cipher.encrypt(plain, context="county." + ".".join(path))
        parent[key] = {_SEALED: base64.b64encode(blob).decode("ascii")}
    return data


def unseal(cipher: PiiCipher, data: dict[str, Any]) -> HandoffPackage:
    """The package stored by `seal`, decrypted."""
    opened = json.loads(json.dumps(data))
    for path in SEALED_PATHS:
        parent, key = _walk(opened, path)
        value = parent[key]
        if isinstance(value, dict) and set(value) == {_SEALED}:
            blob = base64.b64decode(value[_SEALED])
            parent[key] = json.loads(cipher.decrypt(blob, context="county." + ".".join(path)))
    return HandoffPackage.model_validate(opened)


def _uuid_taken() -> ApiError:
    # Said the same way whether the UUID is another township's or not: nothing to learn.
    return ApiError(409, "该办件UUID已被占用，不能用于本乡镇的办件", code="uuid_taken")


def _conflict_with_stored(stored: CountyPackageRecord, township: str, digest: str) -> str:
    """The original receipt for a byte-identical resend; otherwise the reason to refuse."""
    if stored.township != township:
        raise _uuid_taken()
    if not hmac.compare_digest(str(stored.digest), digest):
        raise ApiError(
            409,
            f"县级已收到该办件修订号 {stored.revision} 的内容，与本次发送的不同。"
            "同一修订号的内容不能更改，请核对办件后由窗口人员处理，不要自动重发。",
            code="revision_conflict",
        )
    return str(stored.receipt)


def _check_new_revision(case: CountyCaseRecord | None, package: HandoffPackage) -> None:
    if case is None:
        if package.action is not PackageAction.HAND_OFF:
            raise ApiError(409, "县级尚未收到该办件的移交，不能补正或撤回", code="not_handed_off")
        taken = CountyCaseRecord.select().where(CountyCaseRecord.case_no == package.case_no)
        if taken.exists():
            raise ApiError(
                409, f"办件编号 {package.case_no} 已被本乡镇另一办件使用", code="case_no_taken"
            )
        return
    if package.revision <= case.latest_revision:
        raise ApiError(
            409,
            f"修订号 {package.revision} 不晚于县级已收到的修订号 {case.latest_revision}，"
            "同一办件的修订须按顺序发送",
            code="stale_revision",
        )
    if package.case_no != case.case_no:
        raise ApiError(
            409, "办件编号与县级已收到的不一致，办件编号不能更改", code="case_no_changed"
        )


def _save_case(
    server: CountyServer,
    case: CountyCaseRecord | None,
    package: HandoffPackage,
    status: CountyStatus,
) -> CountyCaseRecord:
    now = server.now().replace(microsecond=0)
    values: dict[str, Any] = {
        "query_code": package.query_code,
        "item_code": package.item_code,
        "item_name": package.item_name,
        "status": status.value,
        "deadline": package.deadline,
        "latest_revision": package.revision,
        "updated_at": now,
    }
    if case is None:
        return CountyCaseRecord.create(
            uuid=package.case_uuid,
            township=package.township,
            case_no=package.case_no,
            handed_off_on=package.handed_off_on,
            received_at=now,
            **values,
        )
    CountyCaseRecord.update(**values).where(CountyCaseRecord.id == case.id).execute()
    return CountyCaseRecord.get_by_id(case.id)


def _check_attachments(township: str, package: HandoffPackage) -> None:
    missing = blobs.missing_for(township, package.attachment_hashes())
    if missing:
        raise ApiError(
            422,
            f"有{len(missing)}个附件尚未上传，请先上传再发送：" + "、".join(missing),
            code="missing_blobs",
            missing=missing,
        )


def _store(
    server: CountyServer, case: CountyCaseRecord, package: HandoffPackage, digest: str
) -> str:
    """Write the package row and return its receipt (kept, so a resend gets the same one)."""
    receipt = HandoffReceipt(
        case_uuid=package.case_uuid,
        revision=package.revision,
        action=package.action,
        case_no=package.case_no,
        received_at=case.updated_at,
        attachments=package.attachment_hashes(),
    ).model_dump_json()
    CountyPackageRecord.create(
        case=case.id,
        uuid=package.case_uuid,
        revision=package.revision,
        township=package.township,
        action=package.action.value,
        digest=digest,
        body=json.dumps(seal(server.cipher, package), ensure_ascii=False),
        receipt=receipt,
        received_at=case.updated_at,
    )
    return receipt


def receive_package(
    server: CountyServer, township: TownshipPrincipal, package: HandoffPackage
) -> tuple[str, bool]:
    """Store a package once; returns the receipt JSON and whether it was new (else a resend)."""
    if package.township != township.code:
        raise ApiError(
            403,
            f"办件所属乡镇（{package.township}）与本乡镇凭据（{township.code}）不符",
            code="wrong_township",
        )
    digest = package_digest(server, package)
    with store.transaction(server.db):
        store.locked_township(server.db, township.code)
        stored = CountyPackageRecord.get_or_none(
            (CountyPackageRecord.uuid == package.case_uuid)
            & (CountyPackageRecord.revision == package.revision)
        )
        if stored is not None:
            return _conflict_with_stored(stored, township.code, digest), False
        case = CountyCaseRecord.get_or_none(CountyCaseRecord.uuid == package.case_uuid)
        if case is not None and case.township != township.code:
            raise _uuid_taken()
        _check_new_revision(case, package)
        status = after_package(CountyStatus(case.status) if case else None, package.action)
        _check_attachments(township.code, package)
        case = _save_case(server, case, package, status)
        return _store(server, case, package, digest), True


def stored_receipt(server: CountyServer, township: str, case_uuid: str, revision: int) -> str:
    """The receipt of a revision this township sent; 404 alike for unknown and not its own."""
    with store.connection(server.db):
        row = CountyPackageRecord.get_or_none(
            (CountyPackageRecord.uuid == case_uuid)
            & (CountyPackageRecord.revision == revision)
            & (CountyPackageRecord.township == township)
        )
    if row is None:
        raise ApiError(404, "县级未收到该办件的这一修订", code="not_found")
    return str(row.receipt)
