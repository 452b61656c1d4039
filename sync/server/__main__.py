"""`python -m sync.server`: run the county server, or register a township or a staff member."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.domain.errors import KnownError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sync.server", description="县级帮代办服务")
    parser.add_argument("--db", required=True, help="数据库地址：sqlite:///路径 或 postgresql://…")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="启动服务")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8750)
    serve.add_argument("--data-dir", type=Path, required=True, help="附件等文件的目录")
    serve.add_argument("--workers", type=int, default=1, help="服务进程数（生产上设为 CPU 核数）")
    serve.add_argument("--ssl-certfile", help="TLS 证书（PEM）；不填则只用 HTTP，须由前置代理加密")
    serve.add_argument("--ssl-keyfile", help="TLS 私钥（PEM）")
    township = sub.add_parser("township-add", help="登记乡镇并签发凭据（只显示一次）")
    township.add_argument("code")
    township.add_argument("name")
    staff = sub.add_parser("staff-add", help="新建县级工作人员并签发令牌（只显示一次）")
    staff.add_argument("username")
    staff.add_argument("display_name")
    staff.add_argument("--role", choices=("window", "admin"), default="window")
    return parser


def main(argv: list[str] | None = None) -> int:
    from sync.server import auth, store
    from sync.server.service import serve

    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            serve(args.db, args.host, args.port, args.data_dir, workers=args.workers,
                  ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile)  # fmt: skip
            return 0
        db = store.open_database(args.db)
        if args.command == "township-add":
            secret = auth.add_township(db, args.code, args.name)
            print(f"乡镇 {args.code} 已登记。凭据（只显示这一次，请存入乡镇电脑的系统密钥环）：")
        else:
            secret = auth.add_staff(db, args.username, args.display_name, args.role)
            print(f"工作人员 {args.username} 已创建。令牌（只显示这一次）：")
        print(secret)
        return 0
    except KnownError as exc:
        print(exc.message, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
