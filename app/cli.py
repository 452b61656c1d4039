"""The `bujianmian` command: administration, demo data, statistics; bare, it opens the client."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.domain.errors import KnownError

EPILOG = (
    "环境变量：BUJIANMIAN_DATA（数据目录）、BUJIANMIAN_DB（数据库地址）、"
    "BUJIANMIAN_PASSPHRASE（无系统密钥环时的个人信息密钥口令）。"
)


class ChineseParser(argparse.ArgumentParser):
    """argparse with Chinese headings and error text."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", help="显示本帮助并退出")

    def error(self, message: str) -> None:  # type: ignore[override]
        translated = (
            message.replace("the following arguments are required", "缺少必需的参数")
            .replace("one of the arguments", "以下参数须给出其一：")
            .replace(" is required", "")
            .replace("not allowed with argument", "不能与此参数同时使用：")
            .replace("invalid choice", "无效的选项")
            .replace("invalid int value", "应为整数，不是")
            .replace("unrecognized arguments", "无法识别的参数")
            .replace("expected one argument", "需要一个值")
            .replace("argument ", "参数 ")
            .replace("choose from", "可选")
        )
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：{translated}\n")

    def format_usage(self) -> str:
        return super().format_usage().replace("usage:", "用法：")

    def format_help(self) -> str:
        return super().format_help().replace("usage:", "用法：")


def build_parser() -> ChineseParser:
    from app import cli_commands as c

    parser = ChineseParser(
        prog="bujianmian",
        description="不见面小系统：乡镇便民服务中心办件系统。不带子命令时打开桌面客户端。",
        epilog=EPILOG,
    )
    parser.add_argument("--data", metavar="目录", help="数据目录（数据库、附件、文书、日志）")
    parser.add_argument("--db", metavar="地址", help="数据库地址：sqlite:///路径 或 postgresql://…")
    sub = parser.add_subparsers(dest="command", metavar="子命令", parser_class=ChineseParser)
    sub.required = False
    c.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data:
        os.environ["BUJIANMIAN_DATA"] = args.data
    if args.db:
        os.environ["BUJIANMIAN_DB"] = args.db
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        return open_client()
    try:
        return handler(args)
    except KnownError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 1
    except EOFError:
        print("错误：需要输入（口令或密码），但没有可用的输入。", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已取消。", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the reader left: stop quietly, without a traceback
        # from the interpreter's final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def open_client() -> int:
    try:
        from app.ui.application import run
    except ModuleNotFoundError as exc:
        # Only an installation without the client (e.g. the county server's, without Qt)
        # lands here; a broken client must crash loudly.
        if exc.name not in ("app.ui", "app.ui.application", "PySide6") and not str(
            exc.name
        ).startswith("PySide6"):
            raise
        print(
            "本机没有安装桌面客户端组件（PySide6）：请安装 bujianmian[client]；"
            "命令行功能见 bujianmian --help。",
            file=sys.stderr,
        )
        return 2
    return int(run())


def cli_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def data_dir_arg(value: str | None) -> Path | None:
    return Path(value) if value else None


if __name__ == "__main__":
    sys.exit(main())
