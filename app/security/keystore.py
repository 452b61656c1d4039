"""Secrets behind one door: the OS keyring (safe backends only) and the personal-data master key.

There is no plaintext fallback: when no safe keyring exists the master key lives in the
database wrapped under a passphrase that is asked for each session. Nothing here writes a file.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import keyring
import keyring.backend
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.domain.errors import KnownError, ValidationError
from app.envvars import PASSPHRASE_ENV
from app.security.passwords import ScryptParams
from app.security.pii import MASTER_KEY_BYTES, generate_master_key

log = logging.getLogger(__name__)

SERVICE_NAME = "bujianmian"
MIN_PASSPHRASE_LENGTH = 8

# Backends that store secrets in clear, fail on every call, or drop them. keyrings.alt says
# of itself that it is "discouraged for general production use"; keyrings.efile only obfuscates.
_UNSAFE_MODULE_PREFIXES = (
    "keyring.backends.fail",
    "keyring.backends.null",
    "keyrings.alt",
    "keyrings.efile",
)
_UNSAFE_NAME_PARTS = ("plaintext", "unencrypted")


class KeyringUnavailable(KnownError):
    """No safe OS keyring is active, or it failed (locked, service not running)."""

    def __init__(self, detail: str = "") -> None:
        message = "系统密钥环不可用，无法安全保存密钥" + (f"（{detail}）" if detail else "")
        message += (
            "。请启用系统密钥环（Windows 凭据管理器、GNOME 密钥环或 KWallet），或使用口令保护。"
        )
        super().__init__(message, code="keyring_unavailable")


class PassphraseError(KnownError):
    """The passphrase does not open the wrapped master key, or none was given."""

    def __init__(self, message: str = "口令不正确，无法解开个人信息密钥") -> None:
        super().__init__(message, code="passphrase")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring for tests; secrets vanish with the process.

    Its priority is below keyring's own fail backend, so automatic discovery never picks it:
    it is active only when installed explicitly (`KeyStore(backend=MemoryKeyring())` or
    `keyring.set_keyring(MemoryKeyring())`). KeyStore accepts it by type, not by priority.
    """

    priority = -10

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self._secrets[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such secret") from None


def _backend_problem(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why `backend` is not safe for secrets, or None when it is."""
    # Exactly the test backend: a subclass must earn its place like any other backend.
    if type(backend) is MemoryKeyring:
        return None
    cls = type(backend)
    qualified = f"{cls.__module__}.{cls.__qualname__}"
    lowered = qualified.lower()
    if qualified.startswith(_UNSAFE_MODULE_PREFIXES) or any(
        part in lowered for part in _UNSAFE_NAME_PARTS
    ):
        return f"{qualified} 不安全"
    try:
        priority = float(cls.priority)
    except Exception:  # keyring's contract: priority raises when the backend cannot work here
        return f"{qualified} 在本机不可用"
    if priority < 1:
        return f"{qualified} 不是推荐的密钥环"
    chained = getattr(backend, "backends", None)
    if isinstance(chained, list | tuple):
        # A chainer reads from every chained backend; one unsafe member spoils the chain.
        for member in chained:
            problem = _backend_problem(member)
            if problem:
                return problem
    return None


def is_safe_backend(backend: keyring.backend.KeyringBackend) -> bool:
    """True when secrets put in `backend` are protected by the operating system."""
    return _backend_problem(backend) is None


class KeyStore:
    """Named secrets in the OS keyring under the service "bujianmian"; refuses unsafe backends."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        try:
            chosen = backend if backend is not None else keyring.get_keyring()
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable("无法确定当前密钥环") from exc
        problem = _backend_problem(chosen)
        if problem:
            raise KeyringUnavailable(problem)
        self._backend = chosen

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend

    @staticmethod
    def _check_name(name: str) -> None:
        if not name:
            raise ValueError("a secret needs a non-empty name")

    def get_secret(self, name: str) -> str | None:
        """The secret stored under `name`, or None."""
        self._check_name(name)
        try:
            return self._backend.get_password(SERVICE_NAME, name)
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable("读取密钥失败，密钥环可能已锁定") from exc

    def set_secret(self, name: str, value: str) -> None:
        """Store (or replace) the secret `name`."""
        self._check_name(name)
        try:
            self._backend.set_password(SERVICE_NAME, name, value)
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable("保存密钥失败，密钥环可能已锁定") from exc

    def delete_secret(self, name: str) -> None:
        """Remove the secret `name`; removing one that does not exist is not an error."""
        self._check_name(name)
        if self.get_secret(name) is None:
            return
        try:
            self._backend.delete_password(SERVICE_NAME, name)
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable("删除密钥失败，密钥环可能已锁定") from exc


def open_keystore() -> KeyStore | None:
    """The KeyStore on the active keyring, or None when it is not safe (then use a passphrase)."""
    try:
        return KeyStore()
    except KeyringUnavailable as exc:
        log.warning("no safe keyring, personal-data key needs a passphrase: %s", exc.message)
        return None


# --- wrapping the master key under a passphrase ------------------------------------------------

WRAP_VERSION = 1
WRAP_SALT_BYTES = 16
WRAP_NONCE_BYTES = 12
# Unwrapping happens once per session, so it can afford twice the login cost (about 32 MB).
WRAP_PARAMS = ScryptParams(n=2**15, r=8, p=1)
_WRAP_HEADER_BYTES = 4 + WRAP_SALT_BYTES
_WRAP_TOTAL_BYTES = _WRAP_HEADER_BYTES + WRAP_NONCE_BYTES + MASTER_KEY_BYTES + 16
_CORRUPT_WRAPPED = "数据库中保存的个人信息密钥已损坏，无法解开，请从备份恢复或联系管理员"


def wrap_key(key: bytes, passphrase: str, *, params: ScryptParams | None = None) -> bytes:
    """Encrypt `key` under `passphrase`: version | log2 n | r | p | salt | nonce | AES-GCM.

    The header is authenticated data, so cost and salt cannot be swapped unnoticed.
    """
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise ValidationError(f"口令至少{MIN_PASSPHRASE_LENGTH}位", field="passphrase")
    params = params or WRAP_PARAMS
    salt = secrets.token_bytes(WRAP_SALT_BYTES)
    header = bytes([WRAP_VERSION, params.n.bit_length() - 1, params.r, params.p]) + salt
    kek = params.derive(passphrase.encode("utf-8"), salt)
    nonce = secrets.token_bytes(WRAP_NONCE_BYTES)
    return header + nonce + AESGCM(kek).encrypt(nonce, key, header)


def _parse_wrapped(blob: bytes) -> tuple[bytes, ScryptParams, bytes, bytes, bytes]:
    if len(blob) != _WRAP_TOTAL_BYTES or blob[0] != WRAP_VERSION:
        raise KnownError(_CORRUPT_WRAPPED, code="wrapped_key_corrupt")
    header = blob[:_WRAP_HEADER_BYTES]
    try:
        params = ScryptParams(n=1 << blob[1], r=blob[2], p=blob[3])
    except ValueError as exc:
        raise KnownError(_CORRUPT_WRAPPED, code="wrapped_key_corrupt") from exc
    salt = header[4:]
    nonce = blob[_WRAP_HEADER_BYTES : _WRAP_HEADER_BYTES + WRAP_NONCE_BYTES]
    sealed = blob[_WRAP_HEADER_BYTES + WRAP_NONCE_BYTES :]
    return header, params, salt, nonce, sealed


def unwrap_key(blob: bytes, passphrase: str) -> bytes:
    """The key inside `blob`; PassphraseError when the passphrase is wrong."""
    header, params, salt, nonce, sealed = _parse_wrapped(blob)
    kek = params.derive(passphrase.encode("utf-8"), salt)
    try:
        return AESGCM(kek).decrypt(nonce, sealed, header)
    except InvalidTag as exc:
        raise PassphraseError() from exc


# --- finding the master key ---------------------------------------------------------------------


@dataclass(frozen=True)
class KeyResolution:
    """The master key for this session; `wrapped_to_save` must be written to the database."""

    master_key: bytes = field(repr=False)
    wrapped_to_save: bytes | None
    source: Literal["keyring", "passphrase"]


def _from_keyring(store: KeyStore, key_name: str) -> bytes | None:
    stored = store.get_secret(key_name)
    if stored is None:
        return None
    try:
        key = base64.b64decode(stored, validate=True)
    except binascii.Error:
        key = b""
    if len(key) != MASTER_KEY_BYTES:
        raise KnownError(
            f"系统密钥环中的个人信息密钥“{key_name}”已损坏，请从备份恢复或联系管理员",
            code="keyring_key_corrupt",
        )
    return key


def console_passphrase(prompt: str = "请输入个人信息密钥口令：") -> str:
    """The passphrase for command-line use: $BUJIANMIAN_PASSPHRASE if set, else a hidden prompt."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    return getpass.getpass(prompt)


def _ask(ask_passphrase: Callable[[], str] | None) -> str:
    if ask_passphrase is None:
        raise PassphraseError("需要输入口令才能解开个人信息密钥")
    return ask_passphrase()


def obtain_master_key(
    store: KeyStore | None,
    *,
    key_name: str,
    wrapped: bytes | None,
    ask_passphrase: Callable[[], str] | None,
    allow_create: bool = True,
) -> KeyResolution:
    """Find this database's personal-data master key, or create it for a new database.

    a) the safe keyring holds it under `key_name` → use it;
    b) the database holds it `wrapped` under a passphrase → ask for the passphrase and unwrap;
    c) neither: generate a key and keep it in the keyring, or else wrap it with a passphrase
       and hand back the blob for the caller to save in the database.
    `key_name` should identify the database, so two databases never share a key. Pass
    `allow_create=False` for a database that already holds encrypted data: a lost key then
    raises instead of silently starting over with a new one.
    """
    if store is not None:
        key = _from_keyring(store, key_name)
        if key is not None:
            return KeyResolution(key, None, "keyring")
    if wrapped is not None:
        return KeyResolution(unwrap_key(wrapped, _ask(ask_passphrase)), None, "passphrase")
    if not allow_create:
        raise KnownError(
            "找不到个人信息密钥：系统密钥环和数据库中都没有。"
            "请在原来的电脑上使用本数据库，或从备份恢复密钥。",
            code="master_key_missing",
        )
    key = generate_master_key()
    if store is not None:
        encoded = base64.b64encode(key).decode("ascii")
        store.set_secret(key_name, encoded)
        # Read it back: a keyring that silently drops the key would lose every record later.
        if store.get_secret(key_name) != encoded:
            raise KeyringUnavailable("密钥写入后无法读回")
        return KeyResolution(key, None, "keyring")
    if ask_passphrase is None:
        raise KeyringUnavailable("也没有提供口令")
    return KeyResolution(key, wrap_key(key, ask_passphrase()), "passphrase")
