"""Accounts: password policy, forced change, persistent lockout, idle sessions, admin rights."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.factories import ADMIN, make_user

from app.domain.errors import AuthError, PermissionDenied, ValidationError
from app.domain.roles import Role
from app.security import passwords
from app.services import accounts, audit
from app.services.runtime import open_runtime
from app.store import db as dbmod
from app.store.models import AccountRecord, AuditEventRecord

NEW_PASSWORD = "Qinghe#2026x"
WRONG = "Wrong-pass-99"


@pytest.fixture
def user(rt, world) -> tuple[str, str]:
    """window1 with its initial password, as created by the world factory."""
    return "window1", world.passwords["window1"]


@pytest.fixture
def active(rt, user) -> tuple[accounts.Session, str]:
    """window1 logged in with its initial password changed; returns the session and password."""
    session = accounts.login(rt, user[0], user[1], desk="A1")
    accounts.change_password(rt, session, user[1], NEW_PASSWORD)
    return session, NEW_PASSWORD


@pytest.fixture
def other_desk(rt, db_url, tmp_path: Path, keystore, clock) -> Iterator[object]:
    """A second runtime on the same database, as another desk's computer would open it."""
    second = open_runtime(tmp_path / "desk2", db_url, keystore=keystore, now=clock)
    yield second
    second.close()
    dbmod.bind(rt.db)


def _fail_times(rt, username: str, n: int) -> list[str]:
    messages = []
    for _ in range(n):
        with pytest.raises(AuthError) as err:
            accounts.login(rt, username, WRONG)
        messages.append(err.value.message)
    return messages


def _account(username: str) -> AccountRecord:
    return AccountRecord.get(AccountRecord.username == username)


# --- password policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "rule"),
    [
        ("Ab1!xyz", passwords.RULE_LENGTH),
        ("abcdefgh12", passwords.RULE_KINDS),
        ("Window1-Qx!", passwords.RULE_USERNAME),
        ("aaaaaaaaaaaa", passwords.RULE_SAME_CHAR),
        ("Admin@123", passwords.RULE_COMMON),
    ],
)
def test_change_password_enforces_each_rule(rt, user, candidate, rule):
    session = accounts.login(rt, *user)
    with pytest.raises(ValidationError) as err:
        accounts.change_password(rt, session, user[1], candidate)
    assert rule in err.value.message
    assert err.value.field == "password"
    assert session.must_change_password
    assert accounts.verify_password(user[1], _account(user[0]).password_hash)


def test_change_password_refuses_reusing_the_old_one(rt, user):
    session = accounts.login(rt, *user)
    with pytest.raises(ValidationError) as err:
        accounts.change_password(rt, session, user[1], user[1])
    assert "不能与原密码相同" in err.value.message


def test_change_password_needs_the_right_old_password(rt, user):
    session = accounts.login(rt, *user)
    with pytest.raises(AuthError) as err:
        accounts.change_password(rt, session, WRONG, NEW_PASSWORD)
    assert "原密码不正确" in err.value.message
    assert _account(user[0]).must_change_password


# --- first login --------------------------------------------------------------------------


def test_first_login_must_change_password(rt, user, clock):
    session = accounts.login(rt, *user, desk="A1")
    assert session.must_change_password
    with pytest.raises(AuthError) as err:
        session.ensure_active(clock())
    assert err.value.code == "must_change"
    accounts.change_password(rt, session, user[1], NEW_PASSWORD)
    session.ensure_active(clock())
    assert not _account(user[0]).must_change_password
    with pytest.raises(AuthError):
        accounts.login(rt, *user)
    again = accounts.login(rt, user[0], NEW_PASSWORD)
    assert not again.must_change_password
    again.ensure_active(clock())


# --- lockout ------------------------------------------------------------------------------


def test_five_failures_lock_the_account_on_every_desk(rt, user, active, clock, other_desk):
    messages = _fail_times(rt, user[0], 5)
    assert messages[:4] == [accounts.BAD_LOGIN] * 4
    assert _account(user[0]).locked_until == clock() + timedelta(minutes=15)
    assert "连续5次" in messages[-1] and "锁定15分钟" in messages[-1]
    with pytest.raises(AuthError) as err:
        accounts.login(rt, user[0], NEW_PASSWORD)
    assert "15分钟后再试" in err.value.message

    clock.advance(minutes=4)
    with pytest.raises(AuthError) as err:
        accounts.login(other_desk, user[0], NEW_PASSWORD, desk="A2")
    assert "已锁定" in err.value.message and "11分钟后再试" in err.value.message

    clock.advance(minutes=11)
    session = accounts.login(other_desk, user[0], NEW_PASSWORD, desk="A2")
    assert session.actor.desk == "A2"
    assert _account(user[0]).locked_until is None


def test_success_resets_the_failure_count(rt, active):
    username = active[0].actor.username
    _fail_times(rt, username, 4)
    assert _account(username).failed_attempts == 4
    accounts.login(rt, username, NEW_PASSWORD)
    assert _account(username).failed_attempts == 0
    messages = _fail_times(rt, username, 4)
    assert messages == [accounts.BAD_LOGIN] * 4
    assert _account(username).failed_attempts == 4
    accounts.login(rt, username, NEW_PASSWORD)
    assert _account(username).locked_until is None


def test_unknown_user_gets_the_same_message_as_a_wrong_password(rt, user):
    with pytest.raises(AuthError) as wrong:
        accounts.login(rt, user[0], WRONG)
    with pytest.raises(AuthError) as unknown:
        accounts.login(rt, "nobody", WRONG)
    assert unknown.value.message == wrong.value.message
    assert "用户名或密码错误" in unknown.value.message


# --- idle sessions ------------------------------------------------------------------------


def test_session_locks_after_idle_minutes(rt, active, clock):
    session = active[0]
    assert session.idle_minutes == accounts.DEFAULT_IDLE_MINUTES
    clock.advance(minutes=9)
    session.touch(clock())
    clock.advance(minutes=9)
    session.ensure_active(clock())
    clock.advance(minutes=1)
    with pytest.raises(AuthError) as err:
        session.ensure_active(clock())
    assert err.value.code == "idle"
    assert session.locked


def test_unlock_session_keeps_the_same_session(rt, active, clock):
    session, password = active
    clock.advance(minutes=accounts.DEFAULT_IDLE_MINUTES)
    with pytest.raises(AuthError):
        session.touch(clock())
    with pytest.raises(AuthError):
        accounts.unlock_session(rt, session, WRONG)
    assert session.locked
    assert _account(session.actor.username).failed_attempts == 1

    accounts.unlock_session(rt, session, password)
    assert not session.locked
    assert session.actor.username == "window1" and session.actor.desk == "A1"
    session.ensure_active(clock())
    assert _account(session.actor.username).failed_attempts == 0


def test_idle_minutes_setting_applies_to_new_sessions(rt, active, clock):
    accounts.set_idle_minutes(rt, ADMIN, 3)
    session = accounts.login(rt, "window1", active[1])
    assert session.idle_minutes == 3
    clock.advance(minutes=3)
    with pytest.raises(AuthError):
        session.ensure_active(clock())
    with pytest.raises(ValidationError):
        accounts.set_idle_minutes(rt, ADMIN, 0)


# --- administration -----------------------------------------------------------------------


def test_admin_only_operations_are_refused_for_other_roles(rt, world):
    auditor, _ = make_user(rt, "auditor1", Role.AUDITOR)
    county, _ = make_user(rt, "county1", Role.COUNTY, township="")
    others = [world.window, world.issuance, world.stations["minzheng"], auditor, county]
    for actor in others:
        with pytest.raises(PermissionDenied):
            accounts.create_account(
                rt, actor, username="sneaky", display_name="某人", role=Role.ADMIN, township=""
            )
        with pytest.raises(PermissionDenied):
            accounts.reset_password(rt, actor, "window1")
        with pytest.raises(PermissionDenied):
            accounts.set_locked(rt, actor, "window1", locked=True)
        with pytest.raises(PermissionDenied):
            accounts.set_idle_minutes(rt, actor, 30)
    assert AccountRecord.get_or_none(AccountRecord.username == "sneaky") is None
    assert not _account("window1").disabled


def test_reset_password_forces_a_change(rt, active, clock):
    new_initial = accounts.reset_password(rt, ADMIN, "window1")
    with pytest.raises(AuthError):
        accounts.login(rt, "window1", NEW_PASSWORD)
    session = accounts.login(rt, "window1", new_initial)
    assert session.must_change_password
    with pytest.raises(AuthError) as err:
        session.ensure_active(clock())
    assert err.value.code == "must_change"


def test_reset_password_clears_a_lockout(rt, active):
    _fail_times(rt, "window1", 5)
    new_initial = accounts.reset_password(rt, ADMIN, "window1")
    assert accounts.login(rt, "window1", new_initial).must_change_password


def test_lock_and_unlock(rt, active):
    accounts.set_locked(rt, ADMIN, "window1", locked=True)
    with pytest.raises(AuthError) as err:
        accounts.login(rt, "window1", NEW_PASSWORD)
    assert "已停用" in err.value.message
    states = {a.username: a.state for a in accounts.list_accounts(rt)}
    assert states["window1"] == "已停用"
    accounts.set_locked(rt, ADMIN, "window1", locked=False)
    accounts.login(rt, "window1", NEW_PASSWORD)


def test_unlock_clears_a_password_lockout(rt, active):
    _fail_times(rt, "window1", 5)
    states = {a.username: a.state for a in accounts.list_accounts(rt)}
    assert states["window1"] == "已锁定（密码错误）"
    accounts.set_locked(rt, ADMIN, "window1", locked=False)
    accounts.login(rt, "window1", NEW_PASSWORD)


def test_create_account_rejects_bad_input(rt, world):
    with pytest.raises(ValidationError) as err:
        accounts.create_account(rt, ADMIN, username="x", display_name="某", role=Role.WINDOW,
                                township="370999101")  # fmt: skip
    assert err.value.field == "username"
    with pytest.raises(ValidationError) as err:
        accounts.create_account(rt, ADMIN, username="window1", display_name="某",
                                role=Role.WINDOW, township="370999101")  # fmt: skip
    assert "已存在" in err.value.message
    with pytest.raises(ValidationError) as err:
        accounts.create_account(rt, ADMIN, username="station2", display_name="某",
                                role=Role.STATION, township="370999101")  # fmt: skip
    assert err.value.field == "station"


# --- audit --------------------------------------------------------------------------------


def test_login_events_are_audited_without_passwords(rt, user, clock):
    session = accounts.login(rt, *user, desk="A1")
    accounts.change_password(rt, session, user[1], NEW_PASSWORD)
    _fail_times(rt, user[0], 5)
    with pytest.raises(AuthError):
        accounts.login(rt, "ghost", "Ghost-pass-1")
    actions = [e.action for e in audit.events_for("account", user[0])]
    assert {"login.success", "login.failure", "account.lockout"} <= set(actions)
    assert actions.count("login.failure") == 5
    assert actions.index("account.lockout") > actions.index("login.success")
    failures = [e for e in audit.events_for("account", user[0]) if e.action == "login.failure"]
    assert all(e.outcome == "fail" and e.at == clock() for e in failures)
    unknown = AuditEventRecord.get(AuditEventRecord.account == "(unknown)")
    assert unknown.action == "login.failure"
    secrets = (user[1], NEW_PASSWORD, WRONG, "Ghost-pass-1")
    for row in AuditEventRecord.select().dicts():
        text = " ".join(str(v) for v in row.values())
        assert not any(s in text for s in secrets), row["action"]
    assert audit.verify(rt.audit_key).ok
