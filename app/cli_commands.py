"""Subcommands of `bujianmian`: each opens the runtime, calls one service and prints Chinese."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.domain.roles import ACCOUNT_ROLES, Actor, Role, parse_role
from app.services.runtime import Runtime


def _runtime() -> Runtime:
    from app.envvars import default_data_dir
    from app.security.keystore import console_passphrase
    from app.services.logs import setup_logging
    from app.services.runtime import open_runtime

    # Logging first: opening the runtime may warn (no keyring, calendar gaps), and a warning
    # without a handler would reach the console as an English line.
    setup_logging(default_data_dir())
    return open_runtime(ask_passphrase=console_passphrase)


def _admin() -> Actor:
    from app.cli import cli_user

    return Actor(None, cli_user(), Role.ADMIN, township="", display_name="命令行管理")


def _add(sub: Any, name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def register(sub: Any) -> None:
    from app import cli_admin, cli_county, cli_data, cli_documents

    _add(sub, "init", "创建或升级数据库（升级前自动备份）", cmd_init)
    cli_admin.register(sub)
    cli_data.register(sub)
    cli_documents.register(sub)
    cli_county.register(sub)


def cmd_init(args: argparse.Namespace) -> int:
    from app.services.holidays import calendar_warning
    from app.store.db import redact_url
    from app.store.migrations import schema_version

    rt = _runtime()
    print(f"数据库已就绪：{redact_url(rt.url)}（结构版本 {schema_version(rt.db)}）")
    print(f"数据目录：{rt.data_dir}")
    warning = calendar_warning(rt)
    if warning:
        print(f"提示：{warning}")
    return 0


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """A plain aligned table; CJK characters count double width."""

    def width(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)

    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        line = "  ".join(c + " " * (widths[i] - width(c)) for i, c in enumerate(row))
        print(line.rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def role_help() -> str:
    return "、".join(f"{r.value}（{r.label}）" for r in ACCOUNT_ROLES)


def parse_role_arg(value: str) -> Role:
    from app.domain.errors import KnownError

    try:
        return parse_role(value)
    except KnownError as exc:
        # argparse turns this into its usage + "错误：" line with exit code 2.
        raise argparse.ArgumentTypeError(exc.message) from None


def read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        from app.domain.errors import KnownError

        raise KnownError(f"无法读取文件 {path}：{exc.strerror}") from None
    except UnicodeDecodeError:
        from app.domain.errors import KnownError

        raise KnownError(f"文件 {path} 不是 UTF-8 编码的文本") from None
