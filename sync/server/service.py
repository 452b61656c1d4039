"""Running the county server: `serve(db_url, host, port, data_dir)` for the command line."""

from __future__ import annotations

import copy
import errno
import logging
import logging.config
import os
import re
import socket
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from app.domain.errors import KnownError
from app.security.keystore import KeyStore, console_passphrase
from sync.server import store
from sync.server.app import create_app
from sync.server.context import DEFAULT_KEYSTORE, CountyServer, open_server

# The line in the log that says this server (not another on the port) is serving.
LISTENING = "县级服务已开始监听"
BIND_PROBLEMS = {
    errno.EADDRINUSE: "端口已被占用（另一个服务正在使用）",
    errno.EACCES: "没有权限（1024 以下的端口需要管理员权限）",
    errno.EADDRNOTAVAIL: "本机没有这个地址",
}
# Requests still running at shutdown get this long to finish.
GRACEFUL_SHUTDOWN_SECONDS = 10
_QUERY_CODE = re.compile(r"([?&]code=)[^&\s]*", re.IGNORECASE)


class HideQueryCodes(logging.Filter):
    """Keep the progress page's query codes out of the access log: with the case number
    they open a case's progress, so they are treated like passwords."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY_CODE.sub(r"\1***", arg) if isinstance(arg, str) and "?" in arg else arg
                for arg in record.args
            )
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up with the access log filtered by HideQueryCodes."""
    import uvicorn.config

    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"hide_query_codes": {"()": HideQueryCodes}}
    config["handlers"]["access"]["filters"] = ["hide_query_codes"]
    return config


def serve(
    db_url: str,
    host: str,
    port: int,
    data_dir: Path,
    *,
    workers: int = 1,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    keystore: KeyStore | object | None = DEFAULT_KEYSTORE,
    ask_passphrase: Callable[[], str] | None = console_passphrase,
) -> None:
    """Open the database, unlock the personal-data key and serve until interrupted.

    Without a safe OS keyring the key is kept in the database wrapped under a passphrase,
    taken from $BUJIANMIAN_PASSPHRASE or asked for on the console. Give a certificate and
    key for HTTPS, or put the server behind a TLS-terminating proxy on the same machine.
    `workers` > 1 serves from that many processes (Linux; see prefork), one per core.
    """
    from sync.server import prefork

    if not 1 <= workers <= prefork.MAX_WORKERS:
        raise KnownError(f"工作进程数应为1至{prefork.MAX_WORKERS}", code="bad_workers")
    if workers > 1 and not prefork.supported():
        raise KnownError("多个工作进程只支持 Linux；请去掉 --workers", code="bad_workers")
    try:
        sock = prefork.bind(host, port)
    except OSError as exc:
        reason = BIND_PROBLEMS.get(exc.errno or 0, exc.strerror or str(exc))
        raise KnownError(f"无法监听 {host}:{port}：{reason}", code="bind") from None
    with sock:
        server = open_server(
            db_url,
            Path(data_dir),
            keystore=keystore,
            ask_passphrase=ask_passphrase,
            pool_size=store.POOL_MAX_CONNECTIONS // workers,
        )
        try:
            scheme = "https" if ssl_certfile else "http"
            bound_host, bound_port = sock.getsockname()[:2]
            address = f"[{bound_host}]" if ":" in bound_host else bound_host
            logging.config.dictConfig(log_config())
            logging.getLogger("uvicorn.error").info(
                "%s %s://%s:%d（%d 个服务进程）", LISTENING, scheme, address, bound_port, workers
            )
            run = partial(_run_uvicorn, server, sock, ssl_certfile, ssl_keyfile)
            if workers == 1:
                run()
                return
            # Each worker opens its own connections: none may be shared across a fork.
            store.close_database(server.db)
            # libuv (uvloop) then accepts one connection at a time and yields, so a burst of
            # townships connecting at once is spread over the workers, not taken by the first.
            os.environ.setdefault("UV_TCP_SINGLE_ACCEPT", "1")
            prefork.Supervisor(workers, run, on_worker_exit=server.drop_unfinished_uploads).run()
        finally:
            server.close()


def _run_uvicorn(
    server: CountyServer,
    sock: socket.socket,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
) -> None:
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        create_app(server),
        host=host,  # for the "running on" line only: the socket is already bound
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        server_header=False,
        log_config=log_config(),
        log_level="info",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    uvicorn.Server(config).run(sockets=[sock])
