"""The county server for the fault test, forked from one interpreter that has imported it all.

`python sync_fault_server.py --db URL --data DIR --port P --log FILE` unlocks the county's
personal-data key once with the passphrase ($BUJIANMIAN_PASSPHRASE, as `bujianmian county
serve` does), prints "ready", then for each "start" line on stdin forks a child that runs
`sync.server.service.serve` (the function behind `bujianmian county serve`) on the same
database, data folder and port, with its output appended to the log, and prints
"started <pid>". A "reap" line waits for that child (the test has SIGKILLed it) and prints
"reaped <pid> <exit code>"; at the end of input a child still running is killed and reaped.

A fresh interpreter costs about a second of imports and key unwrapping per restart, which
would make a hundred kills far too slow; a fork costs milliseconds. The child is given the
key in an in-memory keyring under the name the server looks for, so only the scrypt unwrap
is skipped. The child stays a zombie until "reap": the test can never signal a recycled PID.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from app.security.keystore import KeyStore, MemoryKeyring, unwrap_key  # noqa: E402
from sync.server import store  # noqa: E402
from sync.server.service import serve  # noqa: E402


def unlocked_keyring(url: str) -> KeyStore:
    """An in-memory keyring holding the county key (the database is closed again)."""
    db = store.open_database(url)
    try:
        with store.connection(db):
            wrapped = base64.b64decode(store.get_setting("wrapped_master_key") or "")
            name = f"county-pii-master-key:{store.get_setting('database_id')}"
    finally:
        db.close()
    key = unwrap_key(wrapped, os.environ["BUJIANMIAN_PASSPHRASE"])
    keystore = KeyStore(backend=MemoryKeyring())
    keystore.set_secret(name, base64.b64encode(key).decode("ascii"))
    return keystore


def _child(args: argparse.Namespace, keystore: KeyStore) -> None:
    """In the forked child: serve until killed, never return into the parent's loop."""
    code = 1
    try:
        log = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        nothing = os.open(os.devnull, os.O_RDONLY)
        os.dup2(nothing, 0)
        os.close(nothing)
        serve(args.db, "127.0.0.1", args.port, args.data, keystore=keystore, ask_passphrase=None)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def announce(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    keystore = unlocked_keyring(args.db)
    announce("ready")
    pid = 0
    while line := sys.stdin.readline():
        command = line.strip()
        if command == "start" and not pid:
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _child(args, keystore)
            announce(f"started {pid}")
        elif command == "reap" and pid:
            _, status = os.waitpid(pid, 0)
            announce(f"reaped {pid} {os.waitstatus_to_exitcode(status)}")
            pid = 0
        else:
            raise SystemExit(f"unexpected command {line!r}")
    if pid:  # input closed with a server running: end it rather than leave it behind
        os.kill(pid, 9)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
