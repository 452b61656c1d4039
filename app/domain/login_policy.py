"""The login rules every desk shares: lockout after repeated failures, one message for both
an unknown user and a wrong password (so a name cannot be probed)."""

from __future__ import annotations

MAX_FAILURES = 5
LOCK_MINUTES = 15
DEFAULT_IDLE_MINUTES = 10
BAD_LOGIN = f"用户名或密码错误（连续{MAX_FAILURES}次错误将锁定账号{LOCK_MINUTES}分钟）"
