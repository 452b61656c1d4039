"""Data subcommands: audit verify, backup/restore, demo, stats."""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from app.cli_commands import _add, _admin, _runtime, print_table


def register(sub: Any) -> None:
    aud = _add(sub, "audit", "留痕", None)
    aud_sub = aud.add_subparsers(dest="audit_command", metavar="操作", required=True)
    _add(aud_sub, "verify", "校验留痕链：发现被修改、删除或调序的记录", cmd_audit_verify)
    p = _add(sub, "backup", "在线备份数据库到文件（备份后校验完整性）", cmd_backup)
    p.add_argument("path", metavar="文件")
    p = _add(sub, "restore", "从备份文件恢复 SQLite 数据库（当前库先另存）", cmd_restore)
    p.add_argument("path", metavar="文件")
    p = _add(sub, "demo", "建立演示乡镇、账号、事项目录和演示办件", cmd_demo)
    p.add_argument("--cases", type=int, default=300, metavar="数量", help="演示办件数（默认300）")
    p.add_argument("--seed", type=int, default=20261122, metavar="种子", help="随机种子")
    p = _add(sub, "stats", "统计：按窗口、事项、站办所、状态；超期；自取/邮寄；好差评", cmd_stats)
    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", metavar="YYYY-MM", help="统计月份，如 2026-11")
    period.add_argument("--day", metavar="YYYY-MM-DD", help="统计某一天")
    period.add_argument("--range", nargs=2, metavar=("起", "止"), help="统计日期区间（含两端）")
    p.add_argument("--township", default=None, metavar="乡镇代码", help="只统计该乡镇（默认全部）")
    p.add_argument("--pdf", default=None, metavar="文件", help="同时输出带图表的 PDF")
    p.add_argument("--xlsx", default=None, metavar="文件", help="同时输出 Excel 表格")


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from app.services import audit

    rt = _runtime()
    result = audit.verify(rt.audit_key)
    print(result.summary())
    return 0 if result.ok else 3


def cmd_backup(args: argparse.Namespace) -> int:
    from app.services import backup
    from app.store.db import is_postgres

    rt = _runtime()
    target = backup.backup(rt, _admin(), Path(args.path))
    if is_postgres(rt.db):
        print(f"备份完成：{target}（pg_dump 导出，可用 psql 恢复）")
    else:
        print(f"备份完成：{target}（完整性检查通过）")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from app.services import backup

    rt = _runtime()
    kept = backup.restore(rt, _admin(), Path(args.path))
    print(f"已从 {args.path} 恢复；恢复前的数据库另存为 {kept}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app.domain.errors import KnownError
    from app.services import demo
    from app.store.models import TownshipRecord

    rt = _runtime()
    if TownshipRecord.select().exists():
        raise KnownError(
            "该数据库已有乡镇数据，演示数据只能写入新的空数据库（请用 --data 指定新目录）"
        )
    accounts = demo.setup_township(rt)

    def progress(done: int, total: int) -> None:
        print(f"\r正在生成演示办件：{done}/{total}", end="", file=sys.stderr, flush=True)

    demo.generate_cases(rt, args.cases, seed=args.seed, progress=progress)
    if args.cases:
        print(file=sys.stderr)
    print(f"演示乡镇：{demo.TOWNSHIP[1]}（{demo.TOWNSHIP[0]}），演示办件 {args.cases} 件。")
    print("演示账号（首次登录须修改密码）：")
    print_table(["用户名", "姓名", "角色", "初始密码"], [list(r) for r in accounts.rows])
    return 0


def _day(text: str) -> date:
    from app.domain.errors import ValidationError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"日期格式应为 YYYY-MM-DD：{text}", field="date") from None


def _period(args: argparse.Namespace) -> tuple[date, date]:
    """[start, end) of the requested month, day or inclusive range."""
    from app.domain.errors import ValidationError
    from app.services import stats

    if args.month:
        return stats.month_range(args.month)
    if args.day:
        day = _day(args.day)
        return day, day + timedelta(days=1)
    first, last = _day(args.range[0]), _day(args.range[1])
    if last < first:
        raise ValidationError("统计区间的截止日期不能早于起始日期", field="range")
    return first, last + timedelta(days=1)


def cmd_stats(args: argparse.Namespace) -> int:
    from app.domain.states import CaseState
    from app.services import org, stats

    rt = _runtime()
    start, end = _period(args)
    if args.pdf or args.xlsx:
        from dataclasses import replace

        from app.services import stats_export

        actor = replace(_admin(), township=args.township or "")
        pdf, xlsx = (Path(args.pdf) if args.pdf else None), (Path(args.xlsx) if args.xlsx else None)
        stats_export.export(rt, actor, start, end, pdf=pdf, xlsx=xlsx)
        for path in (pdf, xlsx):
            if path is not None:
                print(f"已写入 {path}")
    s = stats.compute(start, end, today=rt.today(), township=args.township, calendar=rt.calendar)
    print(f"统计期间：{start} 至 {end - timedelta(days=1)}；接件总数 {s.total}")
    print(
        f"在办超期 {s.overdue_open} 件；临近期限 {s.near_due_open} 件；"
        f"超期办结 {s.finished_late} 件；投诉 {s.complaints} 件"
    )
    sections: list[tuple[str, dict[Any, int], Any]] = [
        ("按窗口", s.by_desk, str),
        ("按状态", s.by_state, lambda k: CaseState(k).label),
        ("按站办所", s.by_station, org.station_name),
        ("即办/承诺", s.by_kind, lambda k: {"immediate": "即办件", "promised": "承诺件"}.get(k, k)),
        ("自取/邮寄", s.by_issue_method, lambda k: {"pickup": "自取", "mail": "邮寄"}.get(k, k)),
        ("好差评", s.ratings, lambda k: stats.RATING_LABELS.get(k, str(k))),
        ("按事项", s.by_item, str),
    ]
    for title, counts, label in sections:
        print(f"\n{title}")
        print_table(["项目", "件数"], [[label(k), v] for k, v in counts.items()] or [["（无）", 0]])
    return 0
