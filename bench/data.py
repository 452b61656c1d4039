"""The benchmark database: the demo township with N cases, built once and cached."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.common import CACHE

PASSPHRASE = "bench-passphrase-fictitious"


def demo_runtime(cases: int) -> object:
    """A runtime on a cached SQLite demo database with `cases` cases (built on first use)."""
    from app.services import demo
    from app.services.runtime import open_runtime

    data_dir = CACHE / f"demo-{cases}-{schema_key()}"
    ready = data_dir / "ready"
    if not ready.exists():
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
        rt = open_runtime(data_dir, keystore=None, ask_passphrase=lambda: PASSPHRASE)
        demo.setup_township(rt)
        start = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done % max(total // 10, 200) == 0 or done == total:
                print(f"building demo data: {done}/{total}", file=sys.stderr, flush=True)

        demo.generate_cases(rt, cases, progress=progress)
        print(f"built {cases} cases in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        rt.db.execute_sql("ANALYZE")
        rt.close()
        ready.write_text("ok")
    return open_runtime(data_dir, keystore=None, ask_passphrase=lambda: PASSPHRASE)


def schema_key() -> str:
    """A short fingerprint of the schema: a cached database is rebuilt when the schema changes."""
    import hashlib

    from app.store.migrations import LATEST_VERSION, schema_sql

    text = "".join(";".join(schema_sql(v, "sqlite")) for v in range(1, LATEST_VERSION + 1))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def cache_dir() -> Path:
    CACHE.mkdir(exist_ok=True)
    return CACHE
