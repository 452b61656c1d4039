"""Where the county server is and how the township proves who it is (keyring, never a file)."""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from app.domain.errors import KnownError, ValidationError
from app.security.keystore import KeyringUnavailable, KeyStore
from app.services.runtime import get_setting

CREDENTIAL_ENV = "BUJIANMIAN_SYNC_CREDENTIAL"
CREDENTIAL_NAME = "county-sync-credential"
URL_KEY = "county_sync_url"
CA_BUNDLE_KEY = "county_ca_bundle"
CURSOR_KEY = "county_event_cursor"
_CREDENTIAL = re.compile(r"^bjt\.([0-9]{9})\.[A-Za-z0-9_\-]{43}$")


@dataclass(frozen=True)
class SyncConfig:
    """Everything the HTTP client needs; the credential never leaves memory."""

    url: str
    credential: str = field(repr=False)
    ca_bundle: str = ""

    @property
    def township(self) -> str:
        return township_of(self.credential)


def check_credential(credential: str) -> str:
    credential = credential.strip()
    if not _CREDENTIAL.match(credential):
        raise ValidationError(
            "乡镇凭据格式不对：应为县级签发的 bjt.乡镇代码.随机串，请核对后重新输入",
            field="credential",
        )
    return credential


def township_of(credential: str) -> str:
    match = _CREDENTIAL.match(credential)
    if match is None:
        raise ValidationError("乡镇凭据格式不对", field="credential")
    return match.group(1)


def open_keystore() -> KeyStore | None:
    """The OS keyring when it is safe; None means: ask for the credential each session."""
    try:
        return KeyStore()
    except KeyringUnavailable:
        return None


def store_credential(credential: str, keystore: KeyStore | None) -> bool:
    """Keep the credential in the OS keyring; False when there is no safe keyring."""
    credential = check_credential(credential)
    if keystore is None:
        return False
    keystore.set_secret(CREDENTIAL_NAME, credential)
    return True


def load_credential(
    keystore: KeyStore | None, ask: Callable[[str], str] | None = getpass.getpass
) -> str:
    """The credential from the keyring, else $BUJIANMIAN_SYNC_CREDENTIAL, else asked for."""
    stored = keystore.get_secret(CREDENTIAL_NAME) if keystore is not None else None
    if stored:
        return check_credential(stored)
    from_env = os.environ.get(CREDENTIAL_ENV, "")
    if from_env:
        return check_credential(from_env)
    if ask is None:
        raise KnownError(
            "没有乡镇同步凭据：系统密钥环中没有保存，也没有设置环境变量 "
            f"{CREDENTIAL_ENV}。请先运行 bujianmian sync configure。",
            code="no_credential",
        )
    return check_credential(ask("请输入县级签发的乡镇同步凭据（输入时不显示）："))


def load_config(
    keystore: KeyStore | None, ask: Callable[[str], str] | None = getpass.getpass
) -> SyncConfig:
    """The configured county address and CA bundle with this session's credential."""
    url = get_setting(URL_KEY) or ""
    if not url:
        raise KnownError(
            "尚未设置县级服务器地址，请先运行 bujianmian sync configure --url …",
            code="no_sync_url",
        )
    ca_bundle = get_setting(CA_BUNDLE_KEY) or ""
    return SyncConfig(url.rstrip("/"), load_credential(keystore, ask), ca_bundle)
