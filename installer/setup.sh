#!/usr/bin/env bash
# Set up a development/demo environment: Debian system packages (Qt runtime libraries, CJK fonts,
# poppler, zbar, Xvfb, PostgreSQL client, Chromium for the progress-page test) when missing, then a virtualenv with the project.
# Usage: source-free; called by run-demo.sh and test.sh. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
  python3-venv libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 libglib2.0-0
  fonts-noto-cjk fonts-arphic-uming fonts-wqy-zenhei
  poppler-utils zbar-tools xvfb xauth postgresql-client chromium
)

install_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || return 0   # not Debian: the user installs them
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "提示：缺少系统软件包 ${missing[*]}，请由管理员安装（apt-get install ...）" >&2
      return 0
    fi
  fi
  echo "正在安装系统软件包：${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_venv() {
  local python="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  local stamp=.venv/.bujianmian-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[dev,client,server,reports,pg]"
    touch "$stamp"
  fi
}

install_system_packages
setup_venv
