"""Personal data at rest: AES-GCM encryption per column plus blind and tail indexes for lookups."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.domain.errors import KnownError

MASTER_KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT_VERSION = 1
TAIL_LENGTH = 4

KIND_PHONE = "phone"
KIND_ID_NUMBER = "id_number"
KIND_NAME = "name"

# Distinct HKDF labels: the encryption key and the index key must never be the same bytes,
# so leaking one (e.g. the index key to a search service) reveals nothing about the other.
_INFO_ENCRYPTION = b"bujianmian/pii/aes-256-gcm/v1"
_INFO_BLIND_INDEX = b"bujianmian/pii/blind-index-hmac-sha256/v1"

_DECRYPT_FAILED = "个人信息解密失败：密钥不匹配或数据已损坏"


class PiiDecryptError(KnownError):
    """A stored personal-data value cannot be decrypted (wrong key, wrong column, or tampered)."""

    def __init__(self, message: str = _DECRYPT_FAILED) -> None:
        super().__init__(message, code="pii_decrypt")


def generate_master_key() -> bytes:
    """32 fresh random bytes for a new database's personal-data master key."""
    return secrets.token_bytes(MASTER_KEY_BYTES)


def _derive(master_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)


def _strip_phone_prefix(value: str) -> str:
    """Digits only, without the +86 / 0086 / 86 country code in front of a mainland number."""
    digits = "".join(c for c in value if c in string.digits)
    if value.lstrip().startswith("+86"):
        return digits[2:]
    if digits.startswith("0086") and len(digits) > 4 + 7:
        return digits[4:]
    if digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        return digits[2:]
    return digits


def normalize_pii(value: str, *, kind: str) -> str:
    """The canonical form indexed for `value`, so differently typed copies of it match.

    Full-width characters become ASCII (NFKC), whitespace goes, letters are upper-cased
    (the X check digit of an ID number); phone numbers keep digits only, without +86.
    """
    text = unicodedata.normalize("NFKC", value)
    if kind == KIND_PHONE:
        return _strip_phone_prefix(text)
    return "".join(text.split()).upper()


class PiiCipher:
    """Encrypts personal data and computes lookup indexes, all from one 32-byte master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise ValueError(f"the master key must be {MASTER_KEY_BYTES} bytes")
        self._aead = AESGCM(_derive(master_key, _INFO_ENCRYPTION))
        self._index_key = _derive(master_key, _INFO_BLIND_INDEX)

    def __repr__(self) -> str:
        return "PiiCipher(<key hidden>)"

    @staticmethod
    def _aad(context: str) -> bytes:
        if not context:
            raise ValueError("an encryption context (e.g. 'applicant.id_number') is required")
        return bytes([FORMAT_VERSION]) + context.encode("utf-8")

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """Encrypt `plaintext` bound to `context` (the column), as version | nonce | ciphertext."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), self._aad(context))
        return bytes([FORMAT_VERSION]) + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """Decrypt a value made by `encrypt` with the same context; PiiDecryptError otherwise."""
        aad = self._aad(context)
        # 16 is the GCM tag; anything shorter cannot be ours.
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != FORMAT_VERSION:
            raise PiiDecryptError()
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, aad).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError) as exc:
            raise PiiDecryptError() from exc

    def blind_index(self, value: str, *, kind: str) -> str:
        """Hex HMAC-SHA256 of the normalised value, for exact-match lookups without decrypting.

        `kind` names the kind of value ("phone", "id_number", "name"), not the column: the
        applicant's and the proxy's phone share one index space so one search finds both. The
        kind is part of the HMAC input so equal text of different kinds never collides.
        """
        normalised = normalize_pii(value, kind=kind)
        if not kind or not normalised:
            raise ValueError("nothing to index: store NULL for an empty value")
        message = kind.encode("utf-8") + b"\x00" + normalised.encode("utf-8")
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    @staticmethod
    def tail_index(value: str, *, kind: str) -> str:
        """The last 4 normalised characters, stored in clear for 尾号 (tail) searches.

        Four digits do not identify anyone on their own (thousands share any tail in a county),
        and they are exactly what the masked display (`138****5678`) shows anyway.
        """
        return normalize_pii(value, kind=kind)[-TAIL_LENGTH:]
