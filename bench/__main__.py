"""Run every benchmark: `python -m bench [--quick]`; one JSON line per figure on stdout."""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="性能基准（每项一行 JSON）"
    )
    parser.add_argument("--quick", action="store_true", help="小规模（10,000 件）快速运行")
    parser.add_argument(
        "--cases", type=int, default=None, help="办件数（默认 100,000；--quick 为 10,000）"
    )
    args = parser.parse_args()
    cases = args.cases or (10_000 if args.quick else 100_000)
    import tempfile
    from pathlib import Path

    from bench import client, documents, queues
    from bench.data import CACHE, demo_runtime, schema_key

    results = documents.receipt(args.quick)
    rt = demo_runtime(cases)
    results += queues.run(rt)
    with tempfile.TemporaryDirectory() as tmp:
        results += documents.monthly_stats(rt, Path(tmp))
    rt.close()
    results += client.cold_start(CACHE / f"demo-{cases}-{schema_key()}", args.quick)
    results += client.memory(cases)
    failed = [r["name"] for r in results if not r["ok"]]
    if failed:
        print("未达标：" + "、".join(failed), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
