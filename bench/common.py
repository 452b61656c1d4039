"""Timing helpers and the one-JSON-line-per-figure output."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE = Path(__file__).parent / ".cache"


def timed(fn: Callable[[], Any], *, repeat: int = 15, warmup: int = 2) -> float:
    """Median wall time of `fn` in milliseconds after `warmup` unmeasured runs."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def figure(
    name: str,
    value: float,
    unit: str,
    target: float,
    *,
    higher_is_better: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    ok = value >= target if higher_is_better else value <= target
    line = {"name": name, "value": round(value, 3), "unit": unit, "target": target, "ok": ok}
    line.update({k: round(v, 3) if isinstance(v, float) else v for k, v in extra.items()})
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return line
