"""Running the county server: `serve(db_url, host, port, data_dir)` for the command line."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.security.keystore import KeyStore, console_passphrase
from sync.server.app import create_app
from sync.server.context import DEFAULT_KEYSTORE, open_server

_QUERY_CODE = re.compile(r"([?&]code=)[^&\s]*", re.IGNORECASE)


class HideQueryCodes(logging.Filter):
    """Keep the progress page's query codes out of the access log: with the case number
    they open a case's progress, so they are treated like passwords."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY_CODE.sub(r"\1***", arg) if isinstance(arg, str) else arg
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
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    keystore: KeyStore | object | None = DEFAULT_KEYSTORE,
    ask_passphrase: Callable[[], str] | None = console_passphrase,
) -> None:
    """Open the database, unlock the personal-data key and serve until interrupted.

    Without a safe OS keyring the key is kept in the database wrapped under a passphrase,
    taken from $BUJIANMIAN_PASSPHRASE or asked for on the console. Give a certificate and
    key for HTTPS, or put the server behind a TLS-terminating proxy on the same machine.
    """
    import uvicorn

    server = open_server(db_url, Path(data_dir), keystore=keystore, ask_passphrase=ask_passphrase)
    try:
        uvicorn.run(
            create_app(server),
            host=host,
            port=port,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            server_header=False,
            log_config=log_config(),
            log_level="info",
        )
    finally:
        server.close()
