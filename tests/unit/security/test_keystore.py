"""Tests for app.security.keystore: safe-backend gate, MemoryKeyring, key wrapping, key lookup."""

from __future__ import annotations

import base64
from collections.abc import Callable

import keyring
import keyring.backend
import keyring.core
import keyring.errors
import pytest
from keyring.backends import fail, null

from app.domain.errors import KnownError, ValidationError
from app.security import keystore
from app.security.keystore import (
    SERVICE_NAME,
    KeyResolution,
    KeyringUnavailable,
    KeyStore,
    MemoryKeyring,
    PassphraseError,
    console_passphrase,
    is_safe_backend,
    obtain_master_key,
    open_keystore,
    unwrap_key,
    wrap_key,
)
from app.security.passwords import ScryptParams

KEY_NAME = "pii-master-key:test-db"
PASSPHRASE = "镇便民中心口令2024"
CHEAP = ScryptParams(n=2**4, r=1, p=1)


class PlaintextKeyring(keyring.backend.KeyringBackend):
    """Stands in for keyrings.alt's file keyring (not installed here): priority 0.5."""

    priority = 0.5
    viable = False  # keep keyring's own discovery (used by other tests) away from it

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("must never be written to")


class LowPriorityKeyring(keyring.backend.KeyringBackend):
    """Any other backend keyring itself does not recommend."""

    priority = 0.9
    viable = False

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("must never be written to")


class SafeKeyring(MemoryKeyring):
    """Behaves like an OS keyring that keyring recommends (priority ≥ 1)."""

    priority = 5
    viable = False


class LockedKeyring(SafeKeyring):
    """A recommended keyring whose user refused to unlock it."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")


class ForgetfulKeyring(SafeKeyring):
    """Accepts writes and keeps nothing."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


class FakeChainer(SafeKeyring):
    """A chainer-like backend: safe only if every chained member is."""

    def __init__(self, members: list[keyring.backend.KeyringBackend]) -> None:
        super().__init__()
        self.backends = members


@pytest.fixture(autouse=True)
def _cheap_wrapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystore, "WRAP_PARAMS", CHEAP)


Install = Callable[[keyring.backend.KeyringBackend], None]


@pytest.fixture
def active_backend(monkeypatch: pytest.MonkeyPatch) -> Install:
    """Install a backend as keyring's active one for one test; restored afterwards."""

    def install(backend: keyring.backend.KeyringBackend) -> None:
        monkeypatch.setattr(keyring.core, "_keyring_backend", backend)

    return install


# --- the safe-backend gate ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend",
    [fail.Keyring(), null.Keyring(), PlaintextKeyring(), LowPriorityKeyring()],
    ids=["fail", "null", "plaintext", "low-priority"],
)
def test_keystore_refuses_unsafe_backends(backend: keyring.backend.KeyringBackend) -> None:
    assert not is_safe_backend(backend)
    with pytest.raises(KeyringUnavailable) as caught:
        KeyStore(backend=backend)
    assert caught.value.message.startswith("系统密钥环不可用")


def test_refuses_plaintext_by_name_even_with_high_priority() -> None:
    class PlaintextFileKeyring(SafeKeyring):
        priority = 10

    assert not is_safe_backend(PlaintextFileKeyring())


def test_active_fail_backend_is_refused(active_backend: Install) -> None:
    active_backend(fail.Keyring())
    with pytest.raises(KeyringUnavailable):
        KeyStore()
    assert open_keystore() is None


def test_active_safe_backend_is_used(active_backend: Install) -> None:
    backend = SafeKeyring()
    active_backend(backend)
    store = open_keystore()
    assert store is not None
    store.set_secret("token", "s3cret")
    assert backend.get_password(SERVICE_NAME, "token") == "s3cret"


def test_chain_with_an_unsafe_member_is_refused() -> None:
    assert is_safe_backend(FakeChainer([SafeKeyring(), SafeKeyring()]))
    assert not is_safe_backend(FakeChainer([SafeKeyring(), PlaintextKeyring()]))


def test_memory_keyring_is_never_picked_automatically() -> None:
    assert MemoryKeyring.priority < fail.Keyring.priority
    assert is_safe_backend(MemoryKeyring())


def test_memory_keyring_round_trip() -> None:
    store = KeyStore(backend=MemoryKeyring())
    assert store.get_secret("sync-credential") is None
    store.set_secret("sync-credential", "abc")
    assert store.get_secret("sync-credential") == "abc"
    store.set_secret("sync-credential", "def")
    assert store.get_secret("sync-credential") == "def"
    store.delete_secret("sync-credential")
    assert store.get_secret("sync-credential") is None
    store.delete_secret("sync-credential")  # deleting twice is fine


def test_secrets_live_under_the_service_name() -> None:
    backend = MemoryKeyring()
    KeyStore(backend=backend).set_secret("x", "1")
    assert backend.get_password(SERVICE_NAME, "x") == "1"
    assert backend.get_password("other", "x") is None


def test_empty_secret_name_is_refused() -> None:
    with pytest.raises(ValueError):
        KeyStore(backend=MemoryKeyring()).get_secret("")


def test_locked_keyring_becomes_known_error() -> None:
    store = KeyStore(backend=LockedKeyring())
    with pytest.raises(KeyringUnavailable) as caught:
        store.get_secret("x")
    assert isinstance(caught.value, KnownError)
    assert isinstance(caught.value.__cause__, keyring.errors.KeyringLocked)


# --- wrapping -----------------------------------------------------------------------------------


def test_wrap_unwrap_round_trip() -> None:
    key = bytes(range(32))
    blob = wrap_key(key, PASSPHRASE)
    assert key not in blob
    assert unwrap_key(blob, PASSPHRASE) == key
    assert wrap_key(key, PASSPHRASE) != blob


def test_unwrap_with_wrong_passphrase() -> None:
    blob = wrap_key(bytes(32), PASSPHRASE)
    with pytest.raises(PassphraseError) as caught:
        unwrap_key(blob, PASSPHRASE + "x")
    assert caught.value.message == "口令不正确，无法解开个人信息密钥"


def test_wrap_records_its_cost() -> None:
    blob = wrap_key(bytes(32), PASSPHRASE, params=ScryptParams(n=2**5, r=2, p=1))
    assert blob[1:4] == bytes([5, 2, 1])
    assert unwrap_key(blob, PASSPHRASE) == bytes(32)


@pytest.mark.parametrize("position", [1, 2, 4, 20, -1])
def test_tampered_wrapped_key_is_refused(position: int) -> None:
    blob = bytearray(wrap_key(bytes(32), PASSPHRASE))
    blob[position] ^= 0x01
    with pytest.raises(KnownError):
        unwrap_key(bytes(blob), PASSPHRASE)


@pytest.mark.parametrize("blob", [b"", b"\x01" * 10, b"\x02" + b"\x00" * 83])
def test_malformed_wrapped_key_is_reported_as_corrupt(blob: bytes) -> None:
    with pytest.raises(KnownError) as caught:
        unwrap_key(blob, PASSPHRASE)
    assert not isinstance(caught.value, PassphraseError)
    assert "已损坏" in caught.value.message


def test_absurd_cost_in_header_is_refused_before_hashing() -> None:
    blob = bytearray(wrap_key(bytes(32), PASSPHRASE))
    blob[1] = 40  # n = 2**40 would need terabytes
    with pytest.raises(KnownError, match="已损坏"):
        unwrap_key(bytes(blob), PASSPHRASE)


def test_short_passphrase_is_refused() -> None:
    with pytest.raises(ValidationError, match="口令至少8位"):
        wrap_key(bytes(32), "1234567")


# --- obtain_master_key ------------------------------------------------------------------------


class Asker:
    """A passphrase callback giving `answers` in turn and counting how often it was asked."""

    def __init__(self, *answers: str) -> None:
        self.remaining = list(answers)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.remaining.pop(0)


def _never() -> str:
    raise AssertionError("the passphrase must not be asked for")


def test_a_key_from_keyring() -> None:
    store = KeyStore(backend=MemoryKeyring())
    key = bytes(range(32))
    store.set_secret(KEY_NAME, base64.b64encode(key).decode())
    resolution = obtain_master_key(store, key_name=KEY_NAME, wrapped=None, ask_passphrase=_never)
    assert resolution == KeyResolution(key, None, "keyring")


def test_a_corrupt_keyring_entry_is_reported() -> None:
    store = KeyStore(backend=MemoryKeyring())
    store.set_secret(KEY_NAME, "not-a-key")
    with pytest.raises(KnownError, match="已损坏"):
        obtain_master_key(store, key_name=KEY_NAME, wrapped=None, ask_passphrase=_never)


def test_b_wrapped_key_with_passphrase() -> None:
    key = bytes(range(32))
    ask = Asker(PASSPHRASE)
    resolution = obtain_master_key(
        None, key_name=KEY_NAME, wrapped=wrap_key(key, PASSPHRASE), ask_passphrase=ask
    )
    assert resolution == KeyResolution(key, None, "passphrase")
    assert ask.calls == 1


def test_b_wrapped_key_used_when_keyring_is_safe_but_empty() -> None:
    key = bytes(range(32))
    store = KeyStore(backend=MemoryKeyring())
    resolution = obtain_master_key(
        store,
        key_name=KEY_NAME,
        wrapped=wrap_key(key, PASSPHRASE),
        ask_passphrase=Asker(PASSPHRASE),
    )
    assert resolution.master_key == key
    assert store.get_secret(KEY_NAME) is None


def test_b_wrong_passphrase() -> None:
    wrapped = wrap_key(bytes(32), PASSPHRASE)
    with pytest.raises(KnownError) as caught:
        obtain_master_key(
            None, key_name=KEY_NAME, wrapped=wrapped, ask_passphrase=Asker("错误口令12345")
        )
    assert caught.value.message == "口令不正确，无法解开个人信息密钥"


def test_b_without_a_way_to_ask() -> None:
    wrapped = wrap_key(bytes(32), PASSPHRASE)
    with pytest.raises(PassphraseError):
        obtain_master_key(None, key_name=KEY_NAME, wrapped=wrapped, ask_passphrase=None)


def test_c_new_key_goes_to_safe_keyring() -> None:
    store = KeyStore(backend=MemoryKeyring())
    resolution = obtain_master_key(store, key_name=KEY_NAME, wrapped=None, ask_passphrase=_never)
    assert resolution.source == "keyring"
    assert resolution.wrapped_to_save is None
    assert len(resolution.master_key) == 32
    assert base64.b64decode(store.get_secret(KEY_NAME) or "") == resolution.master_key
    again = obtain_master_key(store, key_name=KEY_NAME, wrapped=None, ask_passphrase=_never)
    assert again.master_key == resolution.master_key


def test_c_new_key_wrapped_without_keyring() -> None:
    resolution = obtain_master_key(
        None, key_name=KEY_NAME, wrapped=None, ask_passphrase=Asker(PASSPHRASE)
    )
    assert resolution.source == "passphrase"
    assert resolution.wrapped_to_save is not None
    assert unwrap_key(resolution.wrapped_to_save, PASSPHRASE) == resolution.master_key
    reopened = obtain_master_key(
        None,
        key_name=KEY_NAME,
        wrapped=resolution.wrapped_to_save,
        ask_passphrase=Asker(PASSPHRASE),
    )
    assert reopened.master_key == resolution.master_key


def test_c_needs_keyring_or_passphrase() -> None:
    with pytest.raises(KeyringUnavailable):
        obtain_master_key(None, key_name=KEY_NAME, wrapped=None, ask_passphrase=None)


def test_c_keyring_that_drops_the_key_is_caught() -> None:
    store = KeyStore(backend=ForgetfulKeyring())
    with pytest.raises(KeyringUnavailable):
        obtain_master_key(store, key_name=KEY_NAME, wrapped=None, ask_passphrase=_never)


def test_existing_database_never_gets_a_new_key() -> None:
    store = KeyStore(backend=MemoryKeyring())
    with pytest.raises(KnownError, match="找不到个人信息密钥"):
        obtain_master_key(
            store, key_name=KEY_NAME, wrapped=None, ask_passphrase=_never, allow_create=False
        )
    assert store.get_secret(KEY_NAME) is None


def test_resolution_repr_hides_the_key() -> None:
    key = bytes(range(32))
    assert repr(key) not in repr(KeyResolution(key, None, "keyring"))


def test_console_passphrase_prefers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUJIANMIAN_PASSPHRASE", PASSPHRASE)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": _never())
    assert console_passphrase() == PASSPHRASE
    monkeypatch.delenv("BUJIANMIAN_PASSPHRASE")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "typed-in-pass")
    assert console_passphrase() == "typed-in-pass"
