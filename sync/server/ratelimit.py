"""A sliding-window rate limiter in memory, per key (a client IP), safe across threads.

In memory on purpose: limits protect this process; several server processes behind one
address each count on their own, which only makes the limit proportionally looser.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 50_000


class RateLimiter:
    """At most `limit` hits per `window` seconds for each key."""

    def __init__(
        self, limit: int, window: int = 60, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window < 1:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= MAX_KEYS:
                self._prune(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _prune(self, now: float) -> None:
        """Forget keys with no hit in the window; if still full, forget everything (fail open
        for a moment rather than let a flood of addresses grow memory without bound)."""
        stale = [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS:
            self._hits.clear()

    def allow(self, key: str) -> bool:
        """Count one hit for `key`; False when it goes past the limit (the hit is not kept)."""
        now = self._clock()
        with self._lock:
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def blocked(self, key: str) -> bool:
        """True when `key` has used up its hits, without counting one."""
        now = self._clock()
        with self._lock:
            return len(self._recent(key, now)) >= self.limit

    def hit(self, key: str) -> None:
        """Count one hit (a failure, say) whatever the total."""
        now = self._clock()
        with self._lock:
            self._recent(key, now).append(now)
