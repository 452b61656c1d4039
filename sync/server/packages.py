"""Receiving 帮代办 packages: exactly once per (case UUID, revision), personal data sealed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any, NamedTuple

import peewee as pw

from app.security.pii import PiiCipher
from app.store import db as dbmod
from sync.protocol import HandoffPackage, HandoffReceipt, PackageAction
from sync.protocol_county import CountyStatus
from sync.server import blobs, store
from sync.server.auth import TownshipPrincipal
from sync.server.casework import after_package
from sync.server.context import CountyServer
from sync.server.errors import ApiError
from sync.server.store import CountyPackageRecord, CountyTownshipRecord

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


class _Stored(NamedTuple):
    township: str
    revision: int
    digest: str
    receipt: str


class _Case(NamedTuple):
    id: int
    township: str
    case_no: str
    status: str
    latest_revision: int


# Hand-written SQL (store.execute): this is the path every township push takes. Read once
# the township row is locked (in a statement of its own, sent with the lock: a statement that
# waited for the lock would see the other rows as they were before the holder committed):
# the case and, if it came before, this very revision (a package row always has its case
# row); whether the case number is taken; how many of the package's attachments this
# township has uploaded; whether the township is there at all (the lock's own answer is
# not read).
_CASE_STATE = (
    "SELECT c.id, c.township, c.case_no, c.status, c.latest_revision, "
    "p.township, p.revision, p.digest, p.receipt, "
    "EXISTS (SELECT 1 FROM county_case n WHERE n.case_no = ?), {uploaded}, "
    "EXISTS (SELECT 1 FROM county_township t WHERE t.code = ?) "
    "FROM (SELECT 1) AS one LEFT JOIN county_case c ON c.uuid = ? "
    "LEFT JOIN county_package p ON p.case_id = c.id AND p.revision = ?"
)
_UPLOADED = (
    "(SELECT COUNT(*) FROM county_blob_grant g JOIN county_blob b ON b.sha256 = g.sha256 "
    "WHERE g.township = ? AND g.sha256 IN ({}))"
)
_NEW_CASE = (
    "INSERT INTO county_case (uuid, township, case_no, query_code, item_code, item_name, "
    "status, deadline, handed_off_on, latest_revision, received_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_CASE = (
    "UPDATE county_case SET query_code = ?, item_code = ?, item_name = ?, status = ?, "
    "deadline = ?, latest_revision = ?, updated_at = ? WHERE id = ?"
)
_NEW_PACKAGE = (
    "INSERT INTO county_package (case_id, uuid, revision, township, action, digest, body, "
    "receipt, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# PostgreSQL: the case row and the package row in one statement (one round trip less).
_NEW_CASE_AND_PACKAGE = (
    f"WITH c AS ({_NEW_CASE} RETURNING id) "
    "INSERT INTO county_package (case_id, uuid, revision, township, action, digest, body, "
    "receipt, received_at) SELECT c.id, ?, ?, ?, ?, ?, ?, ?, ? FROM c"
)
_UPDATE_CASE_AND_NEW_PACKAGE = f"WITH c AS ({_UPDATE_CASE}) {_NEW_PACKAGE}"


class _State(NamedTuple):
    case: _Case | None
    stored: _Stored | None
    case_no_taken: bool
    all_uploaded: bool


def _locked_state(txn: store.Batched, township: str, package: HandoffPackage) -> _State:
    """The transaction begun: the township locked, then what the county has of this
    package's case (see _CASE_STATE)."""
    hashes = package.attachment_hashes()  # distinct, 200 at most (the protocol's limit)
    uploaded = _UPLOADED.format(store.placeholders(len(hashes))) if hashes else "0"
    counted = [township, *hashes] if hashes else []
    params = (package.case_no, *counted, township, package.case_uuid.hex, package.revision)
    state = (_CASE_STATE.format(uploaded=uploaded), params)
    row = txn.begin(store.township_lock(txn.db, township), state).fetchone()
    if not row[11]:
        raise CountyTownshipRecord.DoesNotExist(township)  # type: ignore[attr-defined]
    return _State(
        case=None if row[0] is None else _Case(*row[:5]),
        stored=None if row[5] is None else _Stored(*row[5:9]),
        case_no_taken=bool(row[9]),
        all_uploaded=row[10] == len(hashes),
    )


def _conflict_with_stored(stored: _Stored, township: str, digest: str) -> str:
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


def _check_new_revision(state: _State, package: HandoffPackage) -> None:
    case = state.case
    if case is None:
        if package.action is not PackageAction.HAND_OFF:
            raise ApiError(409, "县级尚未收到该办件的移交，不能补正或撤回", code="not_handed_off")
        if state.case_no_taken:
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


def _check_attachments(db: pw.Database, township: str, package: HandoffPackage) -> None:
    missing = blobs.missing_for(db, township, package.attachment_hashes())
    if missing:
        raise ApiError(
            422,
            f"有{len(missing)}个附件尚未上传，请先上传再发送：" + "、".join(missing),
            code="missing_blobs",
            missing=missing,
        )


def _write(
    server: CountyServer,
    txn: store.Batched,
    case: _Case | None,
    package: HandoffPackage,
    status: CountyStatus,
    digest: str,
    now: datetime,
) -> str:
    """The case row written (inserted, or brought up to this revision) and the package row
    with it, and the transaction committed; the receipt, kept so that a resend gets the same
    one."""
    receipt = HandoffReceipt(
        case_uuid=package.case_uuid,
        revision=package.revision,
        action=package.action,
        case_no=package.case_no,
        received_at=now,
        attachments=package.attachment_hashes(),
    ).model_dump_json()
    body = json.dumps(seal(server.cipher, package), ensure_ascii=False)
    stored = (
        package.case_uuid.hex, package.revision, package.township, package.action.value,
        digest, body, receipt, now,
    )  # fmt: skip
    postgres = dbmod.is_postgres(txn.db)
    if case is not None:
        update = (
            package.query_code, package.item_code, package.item_name, status.value,
            package.deadline, package.revision, now, case.id,
        )  # fmt: skip
        if postgres:
            txn.commit((_UPDATE_CASE_AND_NEW_PACKAGE, (*update, case.id, *stored)))
        else:
            txn.commit((_UPDATE_CASE, update), (_NEW_PACKAGE, (case.id, *stored)))
        return receipt
    values = (
        package.case_uuid.hex, package.township, package.case_no, package.query_code,
        package.item_code, package.item_name, status.value, package.deadline,
        package.handed_off_on, package.revision, now, now,
    )  # fmt: skip
    if postgres:
        txn.commit((_NEW_CASE_AND_PACKAGE, (*values, *stored)))
    else:  # the package row needs the new case's id first
        case_id = store.execute(txn.db, _NEW_CASE, values).lastrowid
        txn.commit((_NEW_PACKAGE, (case_id, *stored)))
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
    db = server.db
    with store.batched(db) as txn:
        state = _locked_state(txn, township.code, package)
        if state.stored is not None:
            return _conflict_with_stored(state.stored, township.code, digest), False
        case = state.case
        if case is not None and case.township != township.code:
            raise _uuid_taken()
        _check_new_revision(state, package)
        status = after_package(CountyStatus(case.status) if case else None, package.action)
        if not state.all_uploaded:
            _check_attachments(db, township.code, package)
        now = server.now().replace(microsecond=0)
        return _write(server, txn, case, package, status, digest, now), True


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
