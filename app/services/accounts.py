"""Accounts: creation, login with persistent lockout, password change, idle sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.domain.errors import AuthError, NotFound, PermissionDenied, ValidationError
from app.domain.login_policy import (  # noqa: F401 - re-exported for callers
    BAD_LOGIN,
    DEFAULT_IDLE_MINUTES,
    LOCK_MINUTES,
    MAX_FAILURES,
)
from app.domain.roles import ACCOUNT_ROLES, Actor, Role
from app.security.passwords import (
    enforce_password_policy,
    generate_initial_password,
    hash_password,
    verify_password,
)
from app.services import audit
from app.store import db as dbmod
from app.store.models import AccountRecord, StationRecord, TownshipRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime

_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,29}$")
# Compared against when the username is unknown, so both paths cost one scrypt run.
_dummy: list[str] = []


def _dummy_hash() -> str:
    """Made on first use, not at import: it costs one scrypt run (start-up time matters)."""
    if not _dummy:
        _dummy.append(hash_password("Dummy-password-1"))
    return _dummy[0]


# One message for an unknown user and a wrong password, so the login screen never tells
# whether a username exists (no remaining-attempts count either: unknown users have none).


@dataclass
class Session:
    """A logged-in account; it locks after `idle_minutes` without activity."""

    actor: Actor
    must_change_password: bool
    idle_minutes: int
    last_activity: datetime
    locked: bool = field(default=False)

    def touch(self, now: datetime) -> None:
        self.ensure_active(now)
        self.last_activity = now

    def is_idle(self, now: datetime) -> bool:
        return now - self.last_activity >= timedelta(minutes=self.idle_minutes)

    def ensure_active(self, now: datetime) -> None:
        if self.locked or self.is_idle(now):
            self.locked = True
            raise AuthError(
                f"已超过{self.idle_minutes}分钟未操作，会话已锁定，请重新输入密码", code="idle"
            )
        if self.must_change_password:
            raise AuthError("首次登录须先修改初始密码", code="must_change")


def actor_of(account: AccountRecord, desk: str = "") -> Actor:
    return Actor(
        account_id=account.id,
        username=account.username,
        role=Role(account.role),
        township=_township_code(account),
        desk=desk,
        station=account.station,
        display_name=account.display_name,
    )


def _township_code(account: AccountRecord) -> str:
    # A null foreign key reads as None without a query; county accounts have no township.
    town = account.township
    return town.code if town is not None else ""


def idle_minutes() -> int:
    from app.services import settings

    return int(settings.get("idle_minutes"))


def set_idle_minutes(rt: Runtime, actor: Actor, minutes: int) -> None:
    from app.services import settings

    settings.set_value(rt, actor, "idle_minutes", str(minutes))


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("只有系统管理员可以管理账号和设置")


def _check_new_account(username: str, role: Role, township: str, station: str | None) -> None:
    if not _USERNAME.match(username):
        raise ValidationError(
            "用户名应为3至30位小写字母、数字或 _ . -，以字母开头", field="username"
        )
    if role not in ACCOUNT_ROLES:
        raise ValidationError("该角色不能分配给账号", field="role")
    if role is Role.STATION and not station:
        raise ValidationError("站办所账号须指定所属站办所", field="station")
    if role is not Role.STATION and station:
        raise ValidationError("只有站办所账号可以指定站办所", field="station")
    if role is not Role.COUNTY and not township:
        raise ValidationError("乡镇账号须指定所属乡镇", field="township")


def create_account(
    rt: Runtime,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: Role,
    township: str = "",
    station: str | None = None,
) -> str:
    """Create an account; returns its generated initial password (to be changed at first login)."""
    _require_admin(actor)
    username = username.strip().lower()
    _check_new_account(username, role, township, station)
    if not display_name.strip():
        raise ValidationError("请填写姓名", field="display_name")
    password = generate_initial_password(username=username)
    with dbmod.write_transaction():
        town = TownshipRecord.get_or_none(TownshipRecord.code == township) if township else None
        if township and town is None:
            raise NotFound(f"乡镇 {township} 不存在，请先初始化乡镇")
        if town is not None and station and not _has_station(town, station):
            raise NotFound(f"本乡镇没有站办所 {station}")
        if AccountRecord.get_or_none(AccountRecord.username == username):
            raise ValidationError(f"用户名 {username} 已存在", field="username")
        account = AccountRecord.create(
            username=username,
            display_name=display_name.strip(),
            role=role.value,
            township=town,
            station=station,
            password_hash=hash_password(password),
            must_change_password=True,
            created_at=rt.now(),
        )
        audit.record(
            rt,
            actor,
            "account.create",
            object_type="account",
            object_id=username,
            details={"role": role.value, "station": station or ""},
            at=rt.now(),
        )
    del account
    return password


def _has_station(town: TownshipRecord, station: str) -> bool:
    query = StationRecord.select().where(
        (StationRecord.township == town) & (StationRecord.code == station)
    )
    return bool(query.exists())


def _get(username: str) -> AccountRecord:
    account = AccountRecord.get_or_none(AccountRecord.username == username.strip().lower())
    if account is None:
        raise NotFound(f"账号 {username} 不存在")
    return account


def _fail(rt: Runtime, account: AccountRecord, desk: str, now: datetime) -> str:
    failures = account.failed_attempts + 1
    locked_until = now + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
    AccountRecord.update(
        failed_attempts=0 if locked_until else failures, locked_until=locked_until
    ).where(AccountRecord.id == account.id).execute()
    actor = actor_of(account, desk)
    audit.record(
        rt,
        actor,
        "login.failure",
        object_type="account",
        object_id=account.username,
        outcome="fail",
        details={"failures": failures},
        at=now,
    )
    if locked_until:
        audit.record(
            rt,
            actor,
            "account.lockout",
            object_type="account",
            object_id=account.username,
            details={"minutes": LOCK_MINUTES},
            at=now,
        )
        return f"连续{MAX_FAILURES}次密码错误，账号已锁定{LOCK_MINUTES}分钟"
    return BAD_LOGIN


def lock_message(locked_until: datetime, now: datetime) -> str:
    minutes = max(1, -(-int((locked_until - now).total_seconds()) // 60))
    return f"账号已锁定，请{minutes}分钟后再试，或请系统管理员解锁"


def login(rt: Runtime, username: str, password: str, *, desk: str = "") -> Session:
    """Check the password; failures are counted in the database so lockout holds everywhere."""
    now = rt.now()
    message = ""
    with dbmod.write_transaction():
        query = AccountRecord.select().where(AccountRecord.username == username.strip().lower())
        account = (query.for_update() if dbmod.is_postgres() else query).first()
        if account is None:
            verify_password(password, _dummy_hash())
            audit.record(
                rt,
                None,
                "login.failure",
                object_type="account",
                object_id="",
                outcome="fail",
                account="(unknown)",
                details={"reason": "unknown_user"},
                at=now,
            )
            message = BAD_LOGIN
        elif account.locked_until and account.locked_until > now:
            audit.record(
                rt,
                actor_of(account, desk),
                "login.locked",
                object_type="account",
                object_id=account.username,
                outcome="fail",
                at=now,
            )
            message = lock_message(account.locked_until, now)
        elif account.disabled:
            message = "账号已停用，请联系系统管理员"
        elif not verify_password(password, account.password_hash):
            message = _fail(rt, account, desk, now)
        else:
            AccountRecord.update(failed_attempts=0, locked_until=None, last_login_at=now).where(
                AccountRecord.id == account.id
            ).execute()
            audit.record(
                rt,
                actor_of(account, desk),
                "login.success",
                object_type="account",
                object_id=account.username,
                at=now,
            )
    if message:
        raise AuthError(message)
    return Session(actor_of(account, desk), account.must_change_password, idle_minutes(), now)


def unlock_session(rt: Runtime, session: Session, password: str) -> None:
    """Re-enter the password after the idle lock; the same session (and its drafts) go on."""
    fresh = login(rt, session.actor.username, password, desk=session.actor.desk)
    session.locked = False
    session.last_activity = rt.now()
    session.must_change_password = fresh.must_change_password


def change_password(rt: Runtime, session: Session, old: str, new: str) -> None:
    account = _get(session.actor.username)
    if not verify_password(old, account.password_hash):
        raise AuthError("原密码不正确")
    if old == new:
        raise ValidationError("新密码不能与原密码相同", field="password")
    enforce_password_policy(new, username=account.username)
    with dbmod.write_transaction():
        AccountRecord.update(
            password_hash=hash_password(new),
            must_change_password=False,
            password_changed_at=rt.now(),
        ).where(AccountRecord.id == account.id).execute()
        audit.record(
            rt,
            session.actor,
            "account.password_change",
            object_type="account",
            object_id=account.username,
            at=rt.now(),
        )
    session.must_change_password = False
    session.last_activity = rt.now()


def set_locked(rt: Runtime, actor: Actor, username: str, *, locked: bool) -> None:
    _require_admin(actor)
    account = _get(username)
    with dbmod.write_transaction():
        AccountRecord.update(disabled=locked, failed_attempts=0, locked_until=None).where(
            AccountRecord.id == account.id
        ).execute()
        action = "account.lock" if locked else "account.unlock"
        audit.record(
            rt,
            actor,
            action,
            object_type="account",
            object_id=account.username,
            at=rt.now(),
        )


def reset_password(rt: Runtime, actor: Actor, username: str) -> str:
    """A new initial password that must be changed at the next login."""
    _require_admin(actor)
    account = _get(username)
    password = generate_initial_password(username=account.username)
    with dbmod.write_transaction():
        AccountRecord.update(
            password_hash=hash_password(password),
            must_change_password=True,
            failed_attempts=0,
            locked_until=None,
        ).where(AccountRecord.id == account.id).execute()
        audit.record(
            rt,
            actor,
            "account.reset_password",
            object_type="account",
            object_id=account.username,
            at=rt.now(),
        )
    return password


@dataclass(frozen=True)
class AccountInfo:
    username: str
    display_name: str
    role: Role
    township: str
    station: str | None
    state: str


def list_accounts(rt: Runtime) -> list[AccountInfo]:
    now = rt.now()
    result = []
    for a in AccountRecord.select().order_by(AccountRecord.username):
        if a.disabled:
            state = "已停用"
        elif a.locked_until and a.locked_until > now:
            state = "已锁定（密码错误）"
        elif a.must_change_password:
            state = "待修改初始密码"
        else:
            state = "正常"
        town = _township_code(a)
        result.append(AccountInfo(a.username, a.display_name, Role(a.role), town, a.station, state))
    return result
