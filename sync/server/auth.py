"""Who is calling: township credentials and county staff tokens (scrypt-hashed at rest).

A credential is `bjt.<township code>.<secret>` and a staff token `bjs.<username>.<secret>`:
the prefix names the row to check, so one scrypt verification is enough, and a verified
credential is remembered in memory (by its SHA-256) so later requests cost no scrypt at all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import peewee as pw
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from app.domain.case_number import check_township_code
from app.domain.errors import KnownError, ValidationError
from app.security.passwords import hash_password, verify_password
from app.store import db as dbmod
from sync.server import store
from sync.server.errors import ApiError
from sync.server.store import CountyStaffRecord, CountyTownshipRecord

if TYPE_CHECKING:
    from sync.server.context import CountyServer

TOWNSHIP_TOKEN = re.compile(r"^bjt\.([0-9]{9})\.([A-Za-z0-9_-]{43})$")
STAFF_TOKEN = re.compile(r"^bjs\.([a-z][a-z0-9_-]{1,31})\.([A-Za-z0-9_-]{43})$")
USERNAME = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
STAFF_ROLES = {"window": "县级帮代办窗口", "admin": "县级管理员"}
# How long a looked-up row is trusted before it is read again (a revoked credential or a
# disabled account stops working within this time).
ROW_TTL_SECONDS = 10.0

_bearer = HTTPBearer(auto_error=False, description="乡镇凭据（bjt.…）或县级工作人员令牌（bjs.…）")


@dataclass(frozen=True)
class TownshipPrincipal:
    code: str
    name: str


@dataclass(frozen=True)
class StaffPrincipal:
    username: str
    display_name: str
    role: str


@dataclass
class _Known:
    stored_hash: str
    disabled: bool
    principal: TownshipPrincipal | StaffPrincipal
    fetched: float
    verified: bytes | None = None
    # Held while scrypt runs: a township's first requests, arriving together, cost one.
    checking: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class CredentialCache:
    """Rows and verified credentials in memory, keyed by kind and name; thread-safe."""

    def __init__(self, ttl: float = ROW_TTL_SECONDS) -> None:
        self._ttl = ttl
        self._rows: dict[tuple[str, str], _Known] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> _Known | None:
        with self._lock:
            known = self._rows.get(key)
        if known is None or time.monotonic() - known.fetched > self._ttl:
            return None
        return known

    def refreshed(self, key: tuple[str, str], fresh: _Known) -> _Known:
        """`fresh` (just read from the database) remembered for `key`. While the stored hash
        is the same the entry it replaces is kept, brought up to date, with its verified
        credential: re-reading the row every ROW_TTL_SECONDS must not cost a scrypt each
        time. A reissued credential changes the hash, so the old one is checked (and fails)
        again."""
        with self._lock:
            old = self._rows.get(key)
            if old is not None and hmac.compare_digest(old.stored_hash, fresh.stored_hash):
                old.disabled, old.principal, old.fetched = (
                    fresh.disabled,
                    fresh.principal,
                    fresh.fetched,
                )
                return old
            if len(self._rows) > 10_000:
                self._rows.clear()
            self._rows[key] = fresh
        return fresh

    def forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._rows.pop(key, None)


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _check_name(name: str, label: str, max_length: int) -> str:
    text = name.strip()
    if not 1 <= len(text) <= max_length or any(ord(c) < 32 for c in text):
        raise ValidationError(f"{label}应为1至{max_length}个字", field="name")
    return text


def add_township(db: pw.Database, code: str, name: str) -> str:
    """Register a township and return its credential: shown once, only its hash is stored."""
    code = check_township_code(code.strip())
    name = _check_name(name, "乡镇名称", 100)
    credential = f"bjt.{code}.{_new_secret()}"
    now = datetime.now()
    dbmod.bind(db)
    with store.transaction(db):
        if CountyTownshipRecord.get_or_none(CountyTownshipRecord.code == code) is not None:
            raise KnownError(f"乡镇 {code} 已登记；如需新凭据请重新签发", code="exists")
        CountyTownshipRecord.create(
            code=code,
            name=name,
            credential_hash=hash_password(credential),
            created_at=now,
            credential_issued_at=now,
        )
    return credential


def reissue_township_credential(db: pw.Database, code: str) -> str:
    """A new credential for a township; the old one stops working (within ROW_TTL_SECONDS)."""
    credential = f"bjt.{check_township_code(code.strip())}.{_new_secret()}"
    dbmod.bind(db)
    with store.transaction(db):
        changed = (
            CountyTownshipRecord.update(
                credential_hash=hash_password(credential), credential_issued_at=datetime.now()
            )
            .where(CountyTownshipRecord.code == code.strip())
            .execute()
        )
    if not changed:
        raise KnownError(f"乡镇 {code} 未登记", code="not_found")
    return credential


def add_staff(db: pw.Database, username: str, display_name: str, role: str) -> str:
    """Create a county staff account and return its API token (shown once, stored hashed)."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise ValidationError("用户名应为2至32位小写字母、数字、下划线或连字符", field="username")
    if role not in STAFF_ROLES:
        raise ValidationError("角色应为 window（帮代办窗口）或 admin（管理员）", field="role")
    display_name = _check_name(display_name, "姓名", 50)
    token = f"bjs.{username}.{_new_secret()}"
    dbmod.bind(db)
    with store.transaction(db):
        if CountyStaffRecord.get_or_none(CountyStaffRecord.username == username) is not None:
            raise KnownError(f"用户名 {username} 已存在", code="exists")
        CountyStaffRecord.create(
            username=username,
            display_name=display_name,
            role=role,
            token_hash=hash_password(token),
            created_at=datetime.now(),
        )
    return token


def _load(db: pw.Database, kind: str, name: str) -> _Known | None:
    with store.connection(db):
        if kind == "township":
            row = CountyTownshipRecord.get_or_none(CountyTownshipRecord.code == name)
            if row is None:
                return None
            return _Known(
                row.credential_hash,
                bool(row.disabled),
                TownshipPrincipal(row.code, row.name),
                time.monotonic(),
            )
        staff = CountyStaffRecord.get_or_none(CountyStaffRecord.username == name)
        if staff is None:
            return None
        principal = StaffPrincipal(staff.username, staff.display_name, staff.role)
        return _Known(staff.token_hash, bool(staff.disabled), principal, time.monotonic())


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, code="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def client_ip(scope: Scope) -> str:
    """The caller's address as the rate limits count it ("-" when the server gives none), from
    a request's ASGI scope (`request.scope`)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


def verify_credential(
    request: Request, kind: str, credential: str
) -> TownshipPrincipal | StaffPrincipal:
    """The principal of a well-formed credential, or 401 (and a counted failure)."""
    server: CountyServer = request.app.state.county
    pattern = TOWNSHIP_TOKEN if kind == "township" else STAFF_TOKEN
    match = pattern.match(credential)
    ip = client_ip(request.scope)
    if server.auth_failures.blocked(ip):
        raise ApiError(429, "凭据错误次数过多，请稍后再试", code="rate_limited",
                       headers={"Retry-After": str(server.auth_failures.window)})  # fmt: skip
    if match is None:
        server.auth_failures.hit(ip)
        what = "乡镇凭据" if kind == "township" else "县级工作人员令牌"
        raise _unauthorized(f"{what}格式不正确")
    key = (kind, match.group(1))
    digest = hashlib.sha256(credential.encode("ascii")).digest()
    known = server.credentials.get(key)
    if known is None:
        known = _load(server.db, kind, match.group(1))
        if known is None:
            server.credentials.forget(key)
        else:
            known = server.credentials.refreshed(key, known)
    if known is None or known.disabled or not _secret_matches(known, credential, digest):
        server.auth_failures.hit(ip)
        raise _unauthorized("凭据无效或已停用")
    return known.principal


def already_verified(
    server: CountyServer, ip: str, kind: str, credential: str
) -> TownshipPrincipal | StaffPrincipal | None:
    """The principal of a credential this process has verified and whose row is fresh in
    the cache, called from `ip`; None for everything else (the full check decides, in a
    worker thread)."""
    match = (TOWNSHIP_TOKEN if kind == "township" else STAFF_TOKEN).match(credential)
    if match is None:
        return None
    known = server.credentials.get((kind, match.group(1)))
    if known is None or known.disabled or known.verified is None:
        return None
    if server.auth_failures.blocked(ip):
        return None
    digest = hashlib.sha256(credential.encode("ascii")).digest()
    return known.principal if hmac.compare_digest(known.verified, digest) else None


async def verify_credential_async(
    request: Request, kind: str, credential: str
) -> TownshipPrincipal | StaffPrincipal:
    """`verify_credential` for async dependencies: a known credential is answered on the
    event loop (no thread hop per request); a database read or scrypt runs in a thread."""
    server = request.app.state.county
    principal = already_verified(server, client_ip(request.scope), kind, credential)
    if principal is not None:
        return principal
    return await run_in_threadpool(verify_credential, request, kind, credential)


def _secret_matches(known: _Known, credential: str, digest: bytes) -> bool:
    """The remembered digest first; scrypt only for a credential not verified before."""
    if known.verified is not None and hmac.compare_digest(known.verified, digest):
        return True
    with known.checking:  # another request may have verified it while this one waited
        if known.verified is not None and hmac.compare_digest(known.verified, digest):
            return True
        if verify_password(credential, known.stored_hash):
            known.verified = digest
            return True
    return False


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("请提供凭据：Authorization: Bearer <凭据>")
    return credentials.credentials


async def township_principal(request: Request, credentials: Bearer) -> TownshipPrincipal:
    """Dependency: the calling township (401 before the body is even looked at)."""
    principal = await verify_credential_async(request, "township", bearer_token(credentials))
    assert isinstance(principal, TownshipPrincipal)
    return principal


async def staff_principal(request: Request, credentials: Bearer) -> StaffPrincipal:
    """Dependency: the calling county staff member, any role."""
    principal = await verify_credential_async(request, "staff", bearer_token(credentials))
    assert isinstance(principal, StaffPrincipal)
    return principal


async def window_staff(
    staff: Annotated[StaffPrincipal, Depends(staff_principal)],
) -> StaffPrincipal:
    if staff.role not in ("window", "admin"):
        raise ApiError(403, "需要县级帮代办窗口权限", code="permission")
    return staff


async def admin_staff(
    staff: Annotated[StaffPrincipal, Depends(staff_principal)],
) -> StaffPrincipal:
    if staff.role != "admin":
        raise ApiError(403, "只有县级管理员可以发布事项目录和节假日安排", code="permission")
    return staff


Township = Annotated[TownshipPrincipal, Depends(township_principal)]
Staff = Annotated[StaffPrincipal, Depends(staff_principal)]
WindowStaff = Annotated[StaffPrincipal, Depends(window_staff)]
AdminStaff = Annotated[StaffPrincipal, Depends(admin_staff)]
