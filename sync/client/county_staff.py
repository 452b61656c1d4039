"""The county desk's side of the county server: the staff token (OS keyring, never a file),
a requests client for the inbox, a case in full, attachments, figures and events (failures as
the sync client's errors, in Chinese), and the desk's own trail of what it sent and revealed.
What is checked before anything is sent lives in sync.client.county_checks."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import pydantic
import requests
from pydantic import TypeAdapter

from app.domain.errors import KnownError, PermissionDenied, ValidationError
from app.domain.roles import Actor, Role
from app.security.keystore import KeyStore
from app.services import audit
from app.services.logs import scrub
from app.services.runtime import get_setting
from app.store import db as dbmod
from sync.client.config import CA_BUNDLE_KEY, URL_KEY
from sync.client.county_checks import REVEAL_FIELDS
from sync.client.http import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    BadCredential,
    ServerTrouble,
    SyncError,
    Uncertain,
    Unreachable,
    never_sent,
)
from sync.client.http import error_of as http_error_of
from sync.protocol import API_PREFIX, AttachmentRef, CountyEvent, EventKind, NewCountyEvent
from sync.protocol_county import CaseDetail, CasePage, CountyStatus, TownshipStats

if TYPE_CHECKING:
    from app.services.runtime import Runtime

STAFF_TOKEN_NAME = "county-staff-token"
STAFF_TOKEN_ENV = "BUJIANMIAN_COUNTY_TOKEN"
_STAFF_TOKEN = re.compile(r"^bjs\.([a-z][a-z0-9_-]{1,31})\.[A-Za-z0-9_\-]{43}$")
INBOX_PAGE = 50
T = TypeVar("T")
_STATS: TypeAdapter[list[TownshipStats]] = TypeAdapter(list[TownshipStats])
_POSTED: TypeAdapter[CountyEvent] = TypeAdapter(CountyEvent)
_PAGE: TypeAdapter[CasePage] = TypeAdapter(CasePage)
_DETAIL: TypeAdapter[CaseDetail] = TypeAdapter(CaseDetail)


# --- where the server is, who the staff member is ----------------------------------------------


@dataclass(frozen=True)
class StaffConfig:
    """The county server's address, its CA bundle and this session's token (memory only)."""

    url: str
    token: str = field(repr=False)
    ca_bundle: str = ""

    @property
    def username(self) -> str:
        return staff_of(self.token)


def check_staff_token(token: str) -> str:
    token = token.strip()
    if not _STAFF_TOKEN.match(token):
        raise ValidationError(
            "县级工作人员令牌格式不对：应为县级签发的 bjs.用户名.随机串，请核对后重新输入",
            field="token",
        )
    return token


def staff_of(token: str) -> str:
    """The username a staff token belongs to."""
    match = _STAFF_TOKEN.match(token)
    if match is None:
        raise ValidationError("县级工作人员令牌格式不对", field="token")
    return match.group(1)


def store_staff_token(token: str, keystore: KeyStore | None) -> bool:
    """Keep the token in the OS keyring; False when there is no safe keyring (ask each time)."""
    token = check_staff_token(token)
    if keystore is None:
        return False
    keystore.set_secret(STAFF_TOKEN_NAME, token)
    return True


def stored_staff_token(keystore: KeyStore | None) -> str | None:
    """The token kept in the keyring, or None (no safe keyring, or none kept yet)."""
    stored = keystore.get_secret(STAFF_TOKEN_NAME) if keystore is not None else None
    return check_staff_token(stored) if stored else None


def county_url() -> str:
    """The configured county server address, or a Chinese error saying how to set it."""
    url = get_setting(URL_KEY) or ""
    if not url:
        raise KnownError(
            "尚未设置县级服务器地址，请系统管理员运行 bujianmian county connect --url …",
            code="no_sync_url",
        )
    return url.rstrip("/")


def staff_config(token: str) -> StaffConfig:
    return StaffConfig(county_url(), check_staff_token(token), get_setting(CA_BUNDLE_KEY) or "")


# --- failures in Chinese --------------------------------------------------------------------


def _transport_error(exc: requests.RequestException, *, posting: bool) -> SyncError:
    if isinstance(exc, requests.exceptions.SSLError):
        return Unreachable(
            "无法与县级服务器建立安全连接（证书校验失败），"
            "请检查县级服务器证书和本机的 CA 证书设置",
            code="tls",
        )
    if never_sent(exc):
        return Unreachable(
            "无法连接县级服务器，可能是政务外网不通或县级服务器未启动。未作任何更改，请稍后重试。",
            code="offline",
        )
    if posting:
        return Uncertain(
            "已发往县级服务器，但没有收到答复，不能确定是否已登记。"
            "请刷新后查看县级办理过程，确认没有登记再重新操作。",
            code="uncertain",
        )
    return Uncertain("县级服务器没有及时答复，请稍后重试。", code="uncertain")


def _error_of(response: requests.Response) -> SyncError:
    """The township client's reading of an error answer, worded for county staff (who are
    not retried for automatically: they try again themselves)."""
    error = http_error_of(response)
    if isinstance(error, BadCredential):
        return BadCredential(
            "县级服务器不接受本机的县级工作人员令牌（无效、已停用或格式不对）。请核对令牌，"
            "或请县级管理员重新签发后用 bujianmian county connect 重新保存。",
            code=error.code,
            status=401,
        )
    if isinstance(error, ServerTrouble):
        text = (
            "县级服务器繁忙，请稍后再试。"
            if error.status == 429
            else f"县级服务器暂时出错（{error.status}），请稍后再试。"
        )
        return ServerTrouble(text, status=error.status, retry_after=error.retry_after)
    return error


def _parse(adapter: TypeAdapter[T], answer: requests.Response) -> T:
    try:
        return adapter.validate_json(answer.content)
    except pydantic.ValidationError as exc:
        raise ServerTrouble(
            "县级服务器的答复不符合协议（版本可能不一致），请联系县级管理员。",
            status=answer.status_code,
        ) from exc


# --- the HTTP client ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxQuery:
    """The inbox filters; None means "any"."""

    township: str | None = None
    item_code: str | None = None
    status: CountyStatus | None = None
    due_before: date | None = None

    def params(self) -> dict[str, str]:
        values = {
            "township": self.township,
            "item_code": self.item_code,
            "status": self.status.value if self.status else None,
            "due_before": self.due_before.isoformat() if self.due_before else None,
        }
        return {k: v for k, v in values.items() if v}


class CountyStaffClient:
    """County staff's session with the county server; TLS verified (system or given CA).

    Background jobs call it from several threads at once: each thread has its own
    requests.Session (a Session is not meant to be shared between threads)."""

    def __init__(self, config: StaffConfig, *, read_timeout: float = READ_TIMEOUT) -> None:
        self.config = config
        self._timeout = (CONNECT_TIMEOUT, read_timeout)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.verify = self.config.ca_bundle or True
            session.headers["Authorization"] = f"Bearer {self.config.token}"
            session.headers["User-Agent"] = "bujianmian-county-desk/1"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def _call(
        self, method: str, path: str, *, posting: bool = False, **kwargs: Any
    ) -> requests.Response:
        url = f"{self.config.url}{API_PREFIX}{path}"
        try:
            response = self._session().request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise _transport_error(exc, posting=posting) from exc
        if response.status_code >= 400:
            raise _error_of(response)
        return response

    def cases(
        self, query: InboxQuery | None = None, offset: int = 0, limit: int = INBOX_PAGE
    ) -> CasePage:
        params = {**(query or InboxQuery()).params(), "offset": offset, "limit": limit}
        return _parse(_PAGE, self._call("GET", "/county/cases", params=params))

    def case(self, case_uuid: UUID | str) -> CaseDetail:
        return _parse(_DETAIL, self._call("GET", f"/county/cases/{case_uuid}"))

    def blob(self, sha256: str) -> bytes:
        """An attachment's bytes, checked against their SHA-256 before anyone sees them."""
        data = self._call("GET", f"/county/blobs/{sha256}").content
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ServerTrouble("收到的附件与登记的校验值不符，未保存，请重试。", status=200)
        return data

    def stats(self) -> list[TownshipStats]:
        return _parse(_STATS, self._call("GET", "/county/stats"))

    def post_event(self, event: NewCountyEvent) -> CountyEvent:
        body = event.model_dump(mode="json")
        return _parse(_POSTED, self._call("POST", "/events", json=body, posting=True))


# --- the desk: the client, and the local trail of what was done ---------------------------------


def _trail_details(event: NewCountyEvent, case_no: str) -> dict[str, Any]:
    """What the trail keeps of an event: dates, choices, names; never free text or numbers."""
    data = event.data.model_dump(mode="json")
    details: dict[str, Any] = {"case_no": case_no, "kind": event.kind}
    for key in ("on", "due_date", "decision", "method", "carrier", "tracking_no"):
        if data.get(key):
            details[key] = scrub(str(data[key]))
    if event.kind == EventKind.CORRECTION.value:
        details["items"] = [scrub(i["name"]) for i in data["missing"]]
    return details


class CountyDesk:
    """A county clerk's work with the county server; every event sent, every number revealed
    leaves a record in the desk's own audit trail."""

    def __init__(self, rt: Runtime, actor: Actor, client: CountyStaffClient) -> None:
        if actor.role is not Role.COUNTY:
            raise PermissionDenied("只有县级帮代办窗口账号可以办理县级帮代办办件")
        self.rt = rt
        self.actor = actor
        self.client = client

    def close(self) -> None:
        self.client.close()

    def post(self, event: NewCountyEvent, case_no: str) -> CountyEvent:
        """Send one event; what reached the county (accepted or refused) is on the trail."""
        details = _trail_details(event, case_no)
        try:
            answer = self.client.post_event(event)
        except Unreachable:
            raise  # nothing reached the county: nothing to record
        except SyncError as exc:
            self._record(f"county.{event.kind}", str(event.case_uuid), details, exc.code)
            raise
        self._record(f"county.{event.kind}", str(event.case_uuid), {**details, "seq": answer.seq})
        return answer

    def reveal(self, detail: CaseDetail, key: str) -> str:
        """The full value of one personal field of a case already loaded; always recorded."""
        label, owner, attribute = REVEAL_FIELDS[key]
        value = str(getattr(getattr(detail.package, owner), attribute))
        details = {"case_no": detail.summary.case_no, "field": key, "label": label}
        self._record("pii.reveal", str(detail.summary.case_uuid), details)
        return value

    def _record(self, action: str, case_uuid: str, details: dict[str, Any], fail: str = "") -> None:
        with dbmod.write_transaction():
            audit.record(
                self.rt,
                self.actor,
                action,
                object_type="county_case",
                object_id=case_uuid,
                outcome="fail" if fail else "ok",
                details={**details, "code": fail} if fail else details,
            )

    def attachment(self, ref: AttachmentRef) -> Path:
        """The attachment as a file in the desk's data folder, verified by its SHA-256; a copy
        already there and intact is used as it is."""
        folder = self.rt.data_dir / "tmp" / "county"
        suffix = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}[ref.mime]
        target = folder / f"{ref.sha256[:16]}{suffix}"
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == ref.sha256:
            return target
        data = self.client.blob(ref.sha256)
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
        return target
