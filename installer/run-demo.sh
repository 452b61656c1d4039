#!/usr/bin/env bash
# Quick start 1: set up everything and open the desktop client on a SQLite demo database.
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/setup.sh
DATA="${BUJIANMIAN_DATA:-$PWD/demo-data}"
# The demo database holds fictitious people only. Where the desktop has no system keyring the
# personal-data key is protected by this passphrase; real installations are asked for their own.
export BUJIANMIAN_PASSPHRASE="${BUJIANMIAN_PASSPHRASE:-demo-passphrase-fictitious-data}"
if [ ! -f "$DATA/bujianmian.sqlite3" ]; then
  .venv/bin/bujianmian --data "$DATA" demo --cases "${DEMO_CASES:-2000}" | tee "$DATA.accounts.txt"
  echo "演示账号已保存在 $DATA.accounts.txt"
fi
exec .venv/bin/bujianmian --data "$DATA"
