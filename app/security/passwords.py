"""Account passwords: scrypt hashing, the password policy and generated initial passwords."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

from app.domain.errors import ValidationError

SCHEME = "scrypt"
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
MIN_KINDS = 3
INITIAL_PASSWORD_LENGTH = 12

# Bounds for parameters read back from storage: a tampered row must not make the
# login screen allocate gigabytes or spin for minutes.
_MAX_LOG2_N = 20
_MAX_R = 32
_MAX_P = 16


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost: n (CPU/memory, a power of two), r (block size), p (parallelism)."""

    n: int = 2**14
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError(f"scrypt n must be a power of two >= 2, got {self.n}")
        if self.n > 2**_MAX_LOG2_N or not 1 <= self.r <= _MAX_R or not 1 <= self.p <= _MAX_P:
            raise ValueError(f"scrypt parameters out of range: {self}")

    @property
    def maxmem(self) -> int:
        """Memory OpenSSL needs (128·r·(n+p+2) bytes) plus slack; its own default is only 32 MiB."""
        return 128 * self.r * (self.n + self.p + 2) + (1 << 20)

    def derive(self, secret: bytes, salt: bytes, length: int = KEY_BYTES) -> bytes:
        """Run scrypt with these parameters."""
        return hashlib.scrypt(
            secret, salt=salt, n=self.n, r=self.r, p=self.p, maxmem=self.maxmem, dklen=length
        )


# n=2**14, r=8 uses about 16 MB per hash: memory-hard, yet a login stays well under a second.
PRODUCTION_PARAMS = ScryptParams()
_default_params = PRODUCTION_PARAMS


def set_default_params(params: ScryptParams) -> ScryptParams:
    """Replace the default cost and return the previous one.

    For tests only (cheap hashes keep suites fast); production code never calls this,
    so every stored hash uses PRODUCTION_PARAMS.
    """
    global _default_params
    previous = _default_params
    _default_params = params
    return previous


def get_default_params() -> ScryptParams:
    """The cost new hashes are made with."""
    return _default_params


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, params: ScryptParams | None = None) -> str:
    """Hash a password as `scrypt$n=16384,r=8,p=1$<salt b64>$<hash b64>`."""
    params = params or _default_params
    salt = secrets.token_bytes(SALT_BYTES)
    digest = params.derive(password.encode("utf-8"), salt)
    return f"{SCHEME}$n={params.n},r={params.r},p={params.p}${_b64(salt)}${_b64(digest)}"


def _parse_params(text: str) -> ScryptParams:
    fields = dict(item.split("=", 1) for item in text.split(","))
    if set(fields) != {"n", "r", "p"}:
        raise ValueError(f"unexpected scrypt fields: {sorted(fields)}")
    return ScryptParams(n=int(fields["n"]), r=int(fields["r"]), p=int(fields["p"]))


def _parse(encoded: str) -> tuple[ScryptParams, bytes, bytes]:
    """Split an encoded hash; ValueError (or binascii.Error, a subclass) when malformed."""
    scheme, param_text, salt_text, digest_text = encoded.split("$")
    if scheme != SCHEME:
        raise ValueError(f"unknown scheme {scheme!r}")
    params = _parse_params(param_text)
    salt = base64.b64decode(salt_text, validate=True)
    digest = base64.b64decode(digest_text, validate=True)
    if len(salt) < SALT_BYTES or not 16 <= len(digest) <= 64:
        raise ValueError("salt or hash has the wrong length")
    return params, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches; False for a wrong password or a malformed encoding."""
    try:
        params, salt, expected = _parse(encoded)
    except (ValueError, TypeError, binascii.Error):
        return False
    actual = params.derive(password.encode("utf-8"), salt, len(expected))
    return hmac.compare_digest(actual, expected)


def needs_rehash(encoded: str, params: ScryptParams | None = None) -> bool:
    """True when the stored hash is malformed or was made with other parameters than `params`."""
    try:
        stored, _salt, digest = _parse(encoded)
    except (ValueError, TypeError, binascii.Error):
        return True
    return stored != (params or _default_params) or len(digest) != KEY_BYTES


# Passwords that satisfy the character rules yet top every leaked-password list in China.
COMMON_PASSWORDS = frozenset(
    word.casefold()
    for word in (
        "Password1!",
        "Password1",
        "Password123!",
        "Passw0rd",
        "Passw0rd!",
        "P@ssw0rd",
        "P@ssword1",
        "Aa123456",
        "Aa123456!",
        "Aa@123456",
        "Aa112233",
        "Qq123456",
        "Admin@123",
        "Admin123!",
        "Admin@1234",
        "Abc@1234",
        "Abc123456!",
        "Abcd1234!",
        "Qwer1234!",
        "Qwer@1234",
        "Asdf1234!",
        "Zxcv1234!",
        "1qaz@WSX",
        "1qaz!QAZ",
        "1qaz2wsx!",
        "Root@123",
        "Test@123",
        "Welcome1!",
        "Huawei@123",
        "Woaini1314!",
    )
)

RULE_LENGTH = f"至少{MIN_LENGTH}位"
RULE_KINDS = f"至少包含大写字母、小写字母、数字、特殊符号中的{MIN_KINDS}种"
RULE_USERNAME = "不能包含用户名"
RULE_SAME_CHAR = "不能全部是同一个字符"
RULE_COMMON = "不能使用常见的弱密码"


def _kinds(password: str) -> int:
    has_upper = any(c in string.ascii_uppercase for c in password)
    has_lower = any(c in string.ascii_lowercase for c in password)
    has_digit = any(c in string.digits for c in password)
    # Anything that is not an ASCII letter, digit or whitespace counts as a symbol.
    plain = string.ascii_letters + string.digits
    has_symbol = any(c not in plain and not c.isspace() for c in password)
    return sum((has_upper, has_lower, has_digit, has_symbol))


def check_password_policy(password: str, *, username: str = "") -> list[str]:
    """The rules `password` breaks, as Chinese phrases; an empty list means it is acceptable."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(RULE_LENGTH)
    if _kinds(password) < MIN_KINDS:
        problems.append(RULE_KINDS)
    if username.strip() and username.strip().casefold() in password.casefold():
        problems.append(RULE_USERNAME)
    if len(set(password)) == 1:
        problems.append(RULE_SAME_CHAR)
    if password.casefold() in COMMON_PASSWORDS:
        problems.append(RULE_COMMON)
    return problems


def enforce_password_policy(password: str, *, username: str = "") -> None:
    """Raise ValidationError naming every broken rule at once."""
    problems = check_password_policy(password, username=username)
    if problems:
        raise ValidationError("密码不符合要求：" + "；".join(problems) + "。", field="password")


# Confusable characters are left out because initial passwords are read off a slip of paper.
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "IO")
_LOWER = "".join(c for c in string.ascii_lowercase if c not in "lo")
_DIGITS = "23456789"
_SYMBOLS = "@#$%&*+-=?!"
_ALPHABET = _UPPER + _LOWER + _DIGITS + _SYMBOLS


def generate_initial_password(*, username: str = "") -> str:
    """A random 12-character password that passes the policy and has no 0/O/o or 1/l/I."""
    rng = secrets.SystemRandom()
    while True:
        chars = [secrets.choice(group) for group in (_UPPER, _LOWER, _DIGITS, _SYMBOLS)]
        chars += [secrets.choice(_ALPHABET) for _ in range(INITIAL_PASSWORD_LENGTH - len(chars))]
        rng.shuffle(chars)
        candidate = "".join(chars)
        if not check_password_policy(candidate, username=username):
            return candidate
