#!/usr/bin/env bash
# Quick start 2: set up everything and run the whole test suite (SQLite; PostgreSQL too when
# BUJIANMIAN_TEST_PG_URL is set, e.g. postgresql://postgres@127.0.0.1:5432/test).
set -uo pipefail
cd "$(dirname "$0")/.."
bash installer/setup.sh || exit 1
if [ -z "${BUJIANMIAN_TEST_PG_URL:-}" ]; then
  echo "提示：未设置 BUJIANMIAN_TEST_PG_URL，本次只在 SQLite 上测试" >&2
fi
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "错误：没有运行任何测试" >&2
  exit 1
fi
exit "$rc"
