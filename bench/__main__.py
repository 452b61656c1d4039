"""Run every benchmark: `python -m bench [--quick] [--only PREFIX]`; one JSON line per figure."""

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
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="名称前缀",
        help="只运行名称以此开头的基准，可重复（如 sync、queue.、client.cold_start）",
    )
    args = parser.parse_args()
    cases = args.cases or (10_000 if args.quick else 100_000)
    import tempfile
    from pathlib import Path

    from bench import client, documents, queues, sync
    from bench.data import CACHE, demo_runtime, schema_key

    def wanted(*names: str) -> bool:
        return not args.only or any(
            name.startswith(p) or p.startswith(name) for name in names for p in args.only
        )

    results = documents.receipt(args.quick) if wanted("document.receipt") else []
    if wanted("queue.", "filter.", "search.", "stats.", "client.cold_start"):
        rt = demo_runtime(cases)
        if wanted("queue.", "filter.", "search."):
            results += queues.run(rt)
        if wanted("stats."):
            with tempfile.TemporaryDirectory() as tmp:
                results += documents.monthly_stats(rt, Path(tmp))
        rt.close()
    if wanted("client.cold_start"):
        results += client.cold_start(CACHE / f"demo-{cases}-{schema_key()}", args.quick)
    if wanted("client.rss"):
        results += client.memory(cases)
    if wanted("sync.handoff_throughput"):
        results += sync.handoff_throughput(args.quick)
    if wanted("sync.townships"):
        results += sync.townships_p99(args.quick)
    if args.only and not results:
        print("没有名称以 " + "、".join(args.only) + " 开头的基准", file=sys.stderr)
        return 2
    failed = [r["name"] for r in results if not r["ok"]]
    if failed:
        print("未达标：" + "、".join(failed), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
