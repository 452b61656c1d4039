"""Document subcommands: print samples, print or reprint a case's document."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
from pathlib import Path
from typing import Any

from app.cli_commands import _add, _admin, _runtime


def register(sub: Any) -> None:
    docs = _add(sub, "documents", "文书", None)
    docs_sub = docs.add_subparsers(dest="documents_command", metavar="操作", required=True)
    p = _add(docs_sub, "samples", "输出每种文书的打印样张（用于检查打印机和模板）", cmd_samples)
    p.add_argument("outdir", metavar="目录")
    p = _add(sub, "print", "出具或补打办件的文书（PDF）", cmd_print)
    p.add_argument("kind", metavar="文书", help=_kinds_help())
    p.add_argument("case_no", metavar="办件编号")
    p.add_argument("-o", "--output", required=True, metavar="文件")
    p.add_argument(
        "--user",
        default=None,
        metavar="用户名",
        help="首次出具须以该账号登录（询问密码，或取环境变量 BUJIANMIAN_USER_PASSWORD）；"
        "已出具的文书由管理员补打，无须登录",
    )
    p.add_argument("--desk", default="", metavar="窗口代码")


def _kinds_help() -> str:
    from app.domain.documents import RULES

    return "、".join(f"{k}（{r.title}）" for k, r in RULES.items() if k != "guide")


def cmd_samples(args: argparse.Namespace) -> int:
    from app.services import documents

    rt = _runtime()
    paths = documents.render_samples(rt, _admin(), Path(args.outdir))
    for path in paths:
        print(path)
    print(f"已输出 {len(paths)} 份打印样张到 {args.outdir}")
    return 0


def _case_id(case_no: str) -> int:
    from app.domain.errors import NotFound
    from app.store.models import CaseRecord

    case = CaseRecord.get_or_none(CaseRecord.case_no == case_no.strip().upper())
    if case is None:
        raise NotFound(f"办件 {case_no} 不存在")
    return int(case.id)


def cmd_print(args: argparse.Namespace) -> int:
    from app.services import accounts, documents

    rt = _runtime()
    case_id = _case_id(args.case_no)
    existing = documents.issued_copy(rt, _admin(), args.kind, case_id)
    if existing is None:
        from app.domain.errors import KnownError

        if not args.user:
            raise KnownError("该文书尚未出具；首次出具须用 --user 指定出具人账号")
        password = os.environ.get("BUJIANMIAN_USER_PASSWORD") or getpass.getpass("密码：")
        session = accounts.login(rt, args.user, password, desk=args.desk)
        session.ensure_active(rt.now())
        existing = documents.issue(rt, session.actor, args.kind, case_id=case_id)
    shutil.copyfile(existing.path, args.output)
    word = "补打" if existing.reprint else "出具"
    print(f"已{word}{existing.title} {existing.number}：{args.output}")
    return 0
