"""County sync subcommands: run the county server, issue credentials, run the township worker."""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path
from typing import Any

from app.cli_commands import _add, _admin, _runtime
from app.domain.errors import KnownError

# Importing the sync settings declares them, so `settings list/set` know them too.
from sync.client import config as sync_config


def register(sub: Any) -> None:
    county = _add(sub, "county", "县级帮代办服务（在县级服务器上运行）", None)
    county_sub = county.add_subparsers(dest="county_command", metavar="操作", required=True)
    p = _add(county_sub, "serve", "启动县级服务", cmd_county_serve)
    _county_db(p)
    p.add_argument("--host", default="127.0.0.1", metavar="地址", help="监听地址（默认 127.0.0.1）")
    p.add_argument("--port", type=int, default=8750, metavar="端口", help="监听端口（默认 8750）")
    p.add_argument("--data", dest="county_data", metavar="目录", help="附件等文件的目录")
    p.add_argument("--workers", type=int, default=1, metavar="个数",
                   help="服务进程数（默认 1；生产上设为 CPU 核数，只支持 Linux）")  # fmt: skip
    p.add_argument("--tls-cert", metavar="文件", help="TLS 证书（PEM）")
    p.add_argument("--tls-key", metavar="文件", help="TLS 私钥（PEM）")
    town = _add(county_sub, "township", "登记乡镇", None)
    town_sub = town.add_subparsers(dest="county_town_command", metavar="操作", required=True)
    p = _add(town_sub, "add", "登记乡镇并签发同步凭据（只显示一次）", cmd_county_township_add)
    p.add_argument("code", metavar="区划代码", help="9位乡镇区划代码")
    p.add_argument("name", metavar="名称")
    _county_db(p)
    staff = _add(county_sub, "staff", "县级工作人员", None)
    staff_sub = staff.add_subparsers(dest="county_staff_command", metavar="操作", required=True)
    p = _add(staff_sub, "add", "新建县级工作人员并签发令牌（只显示一次）", cmd_county_staff_add)
    p.add_argument("username", metavar="用户名")
    p.add_argument("display_name", metavar="姓名")
    p.add_argument("--role", choices=("window", "admin"), default="window", help="window 或 admin")
    _county_db(p)
    p = _add(county_sub, "connect", "在县级帮代办窗口电脑上设置县级服务器地址和工作人员令牌",
             cmd_county_connect)  # fmt: skip
    p.add_argument("--url", required=True, metavar="网址", help="如 https://county.example:8750")
    p.add_argument("--ca-bundle", default="", metavar="文件", help="县级服务器的 CA 证书（PEM）")
    p.add_argument("--new-token", action="store_true", help="替换系统密钥环中已保存的令牌")

    sync = _add(sub, "sync", "乡镇与县级同步（帮代办移交、县级事件）", None)
    sync_sub = sync.add_subparsers(dest="sync_command", metavar="操作", required=True)
    p = _add(sync_sub, "run", "发送外发队列并接收县级事件", cmd_sync_run)
    p.add_argument("--once", action="store_true", help="只运行一轮后退出")
    p = _add(sync_sub, "configure", "设置县级服务器地址和本乡镇同步凭据", cmd_sync_configure)
    p.add_argument("--url", required=True, metavar="网址", help="如 https://county.example:8750")
    p.add_argument("--ca-bundle", default="", metavar="文件", help="县级服务器的 CA 证书（PEM）")
    p.add_argument("--new-credential", action="store_true", help="替换已保存的凭据")
    _add(sync_sub, "status", "显示同步状态", cmd_sync_status)


def _county_db(parser: argparse.ArgumentParser) -> None:
    # Its own dest: the top-level --db names the township database.
    parser.add_argument("--db", dest="county_db", required=True, metavar="地址",
                        help="县级数据库：postgresql://… 或 sqlite:///路径")  # fmt: skip


def cmd_county_serve(args: argparse.Namespace) -> int:
    from app.envvars import default_data_dir
    from sync.server.service import serve

    data = Path(args.county_data) if args.county_data else default_data_dir() / "county"
    serve(args.county_db, args.host, args.port, data, workers=args.workers,
          ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)  # fmt: skip
    return 0


def cmd_county_township_add(args: argparse.Namespace) -> int:
    from sync.server import auth, store

    secret = auth.add_township(store.open_database(args.county_db), args.code, args.name)
    print(f"乡镇 {args.code} 已登记。凭据（只显示这一次，请在乡镇电脑上用 sync configure 存入）：")
    print(secret)
    return 0


def cmd_county_staff_add(args: argparse.Namespace) -> int:
    from sync.server import auth, store

    db = store.open_database(args.county_db)
    secret = auth.add_staff(db, args.username, args.display_name, args.role)
    print(f"工作人员 {args.username} 已创建。令牌（只显示这一次）：")
    print(secret)
    return 0


def cmd_county_connect(args: argparse.Namespace) -> int:
    """The county desk's server and staff token: checked first, then kept (token in keyring)."""
    from app.services import settings
    from sync.client import county_staff as staff

    rt = _runtime()
    for key, value in (
        (sync_config.URL_KEY, args.url),
        (sync_config.CA_BUNDLE_KEY, args.ca_bundle),
    ):
        setting = settings.SETTINGS[key]
        problem = setting.check(value.strip())
        if problem:
            raise KnownError(f"「{setting.label}」{problem}", code="invalid")
    keystore = sync_config.open_keystore()
    kept = staff.stored_staff_token(keystore) if not args.new_token else None
    token = kept or staff.check_staff_token(
        os.environ.get(staff.STAFF_TOKEN_ENV)
        or getpass.getpass("请输入县级签发的工作人员令牌（输入时不显示）：")
    )
    _try_token(staff.StaffConfig(args.url.rstrip("/"), token, args.ca_bundle))
    settings.set_value(rt, _admin(), sync_config.URL_KEY, args.url)
    settings.set_value(rt, _admin(), sync_config.CA_BUNDLE_KEY, args.ca_bundle)
    print(f"县级服务器地址：{args.url}")
    print(f"CA 证书：{args.ca_bundle or '使用系统信任的证书'}")
    if kept:
        print("工作人员令牌：沿用系统密钥环中已保存的令牌（替换请加 --new-token）。")
    elif staff.store_staff_token(token, keystore):
        print(f"工作人员令牌（{staff.staff_of(token)}）已存入系统密钥环。")
    else:
        print("本机没有安全的系统密钥环，令牌不会保存：县级帮代办窗口每次登录后会询问一次令牌。")
    return 0


def _try_token(config: Any) -> None:
    """Ask the county server with the token: a refused token stops here, nothing saved; an
    unreachable server only warns (the extranet may be down while the desk is set up)."""
    from sync.client.county_staff import CountyStaffClient
    from sync.client.http import BadCredential, SyncError

    client = CountyStaffClient(config)
    try:
        towns = client.stats()
    except BadCredential as exc:
        raise KnownError(f"{exc.message}未保存任何设置。", code=exc.code) from None
    except SyncError as exc:
        print(f"提示：暂时无法验证令牌：{exc.message}")
        return
    finally:
        client.close()
    print(f"已连接县级服务器：令牌有效，共登记 {len(towns)} 个乡镇。")


def cmd_sync_configure(args: argparse.Namespace) -> int:
    from app.services import settings

    rt = _runtime()
    settings.set_value(rt, _admin(), sync_config.URL_KEY, args.url)
    settings.set_value(rt, _admin(), sync_config.CA_BUNDLE_KEY, args.ca_bundle)
    print(f"县级服务器地址：{args.url}")
    print(f"CA 证书：{args.ca_bundle or '使用系统信任的证书'}")
    keystore = sync_config.open_keystore()
    kept = keystore is not None and keystore.get_secret(sync_config.CREDENTIAL_NAME)
    if kept and not args.new_credential:
        print("同步凭据：沿用系统密钥环中已保存的凭据（替换请加 --new-credential）。")
        return 0
    credential = sync_config.load_credential(None)
    if sync_config.store_credential(credential, keystore):
        print("同步凭据已存入系统密钥环。")
    else:
        print(
            "本机没有安全的系统密钥环，凭据不会保存：每次运行同步时请输入，"
            f"或设置环境变量 {sync_config.CREDENTIAL_ENV}。"
        )
    return 0


def _client() -> tuple[Any, Any, Any]:
    """The runtime, the worker's county client and this command's side of the send lease."""
    import socket

    from sync.client.lease import SendLease
    from sync.client.worker import WorkerClient

    rt = _runtime()
    config = sync_config.load_config(sync_config.open_keystore())
    lease = SendLease(rt, f"命令行（{socket.gethostname()[:30]}）")
    return rt, WorkerClient(config, lease=lease), lease


def _print_cycle(report: Any) -> None:
    for problem in report.problems:
        print(f"提示：{problem}")
    print(report.text)


def cmd_sync_run(args: argparse.Namespace) -> int:
    import threading

    from sync.client.status import current
    from sync.client.worker import run_cycle, run_forever

    rt, client, lease = _client()
    try:
        if args.once:
            _print_cycle(run_cycle(rt, client, lease))
            print(current(rt, lease.token).text)
            return 0
        print("同步已启动，按 Ctrl+C 停止。")
        run_forever(rt, client, threading.Event(), on_cycle=_print_cycle, lease=lease)
        return 0
    finally:
        lease.release()
        client.close()


def cmd_sync_status(args: argparse.Namespace) -> int:
    from sync.client.status import current

    rt = _runtime()
    print(current(rt).text)
    return 0
