"""The `bujianmian` command, run as a real subprocess: Chinese help, administration, data."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from helpers.cli import PASSPHRASE, ROOT, cli, ok
from helpers.fixtures import PG_ENV, pg_schema

TOWNSHIP = "370999101"
ADD_TOWNSHIP = (TOWNSHIP, "青禾镇", "--county-code", "370999", "--county-name", "青禾县")
DEMO_CATALOG = ROOT / "forms" / "data" / "demo_county.json"
SUBCOMMANDS = [
    [],
    ["init"],
    ["township"],
    ["township", "add"],
    ["township", "desk"],
    ["user"],
    ["user", "add"],
    ["user", "list"],
    ["user", "lock"],
    ["user", "unlock"],
    ["user", "reset-password"],
    ["catalog"],
    ["catalog", "import"],
    ["catalog", "export"],
    ["catalog", "list"],
    ["catalog", "show"],
    ["holidays"],
    ["holidays", "import"],
    ["holidays", "show"],
    ["holidays", "export"],
    ["audit"],
    ["audit", "verify"],
    ["backup"],
    ["restore"],
    ["demo"],
    ["stats"],
    ["settings"],
    ["settings", "list"],
    ["settings", "set"],
    ["documents"],
    ["documents", "samples"],
    ["print"],
]
ENGLISH_HELP = ("usage:", "positional arguments", "options:", "show this help message")


def _open(data: Path):
    """The data directory's database, opened in this process with the same passphrase."""
    from app.services.runtime import open_runtime
    from app.store.db import default_url

    return open_runtime(data, default_url(data), keystore=None, ask_passphrase=lambda: PASSPHRASE)


def _login_works(data: Path, username: str, password: str) -> bool:
    from app.domain.errors import AuthError
    from app.services import accounts

    rt = _open(data)
    try:
        return accounts.login(rt, username, password).must_change_password
    except AuthError:
        return False
    finally:
        rt.close()


def _password(out: str) -> str:
    match = re.search(r"(?:初始密码|新初始密码)：(\S{12})", out)
    assert match, out
    return match.group(1)


def _townships(data: Path) -> list[str]:
    conn = sqlite3.connect(data / "bujianmian.sqlite3")
    try:
        return [r[0] for r in conn.execute("SELECT code FROM township ORDER BY code")]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with a township, a desk and the demo catalog, built once."""
    d = tmp_path_factory.mktemp("template")
    ok(d, "init")
    ok(
        d,
        "township",
        "add",
        TOWNSHIP,
        "青禾镇",
        "--county-code",
        "370999",
        "--county-name",
        "青禾县",
    )
    ok(d, "township", "desk", TOWNSHIP, "a1", "--name", "综合窗口")
    ok(d, "catalog", "import", str(DEMO_CATALOG))
    return d


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template (the command has exited, so the files are at rest)."""
    return Path(shutil.copytree(template, tmp_path / "data"))


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda w: "-".join(w) or "main")
def test_help_is_chinese(tmp_path: Path, words: list[str]):
    out = ok(tmp_path, *words, "--help")
    assert out.startswith("用法：")
    assert "显示本帮助并退出" in out
    assert not any(english in out for english in ENGLISH_HELP), out


def test_init_creates_the_database(tmp_path: Path):
    out = ok(tmp_path, "init")
    assert "数据库已就绪" in out and "结构版本 2" in out
    assert (tmp_path / "bujianmian.sqlite3").exists()
    assert "结构版本 2" in ok(tmp_path, "init")


def test_township_and_desk(data: Path):
    assert _townships(data) == [TOWNSHIP]
    dup = cli(data, "township", "add", *ADD_TOWNSHIP)
    assert dup.code == 1 and "已存在" in dup.err
    assert "已新增窗口 A2" in ok(data, "township", "desk", TOWNSHIP, "a2")


def test_user_add_list_lock_unlock_reset(data: Path):
    out = ok(
        data,
        "user",
        "add",
        "Clerk1",
        "--name",
        "张三",
        "--role",
        "综合窗口",
        "--township",
        TOWNSHIP,
    )
    assert "已新增账号 clerk1" in out
    initial = _password(out)
    assert _login_works(data, "clerk1", initial)
    ok(
        data,
        "user",
        "add",
        "st1",
        "--name",
        "李四",
        "--role",
        "station",
        "--township",
        TOWNSHIP,
        "--station",
        "minzheng",
    )
    listing = ok(data, "user", "list")
    assert re.search(r"clerk1\s+张三\s+综合窗口\s+370999101\s+待修改初始密码", listing)
    assert re.search(r"st1\s+李四\s+站办所\s+370999101\s+民政（民政办）", listing)

    assert "已停用" in ok(data, "user", "lock", "clerk1")
    assert re.search(r"clerk1.*已停用", ok(data, "user", "list"))
    assert not _login_works(data, "clerk1", initial)
    ok(data, "user", "unlock", "clerk1")
    assert _login_works(data, "clerk1", initial)

    fresh = _password(ok(data, "user", "reset-password", "clerk1"))
    assert fresh != initial
    assert not _login_works(data, "clerk1", initial)
    assert _login_works(data, "clerk1", fresh)

    missing = cli(data, "user", "lock", "nobody")
    assert missing.code == 1 and "账号 nobody 不存在" in missing.err


def test_catalog_import_list_show_export_round_trip(data: Path, tmp_path: Path):
    from forms.catalog import load_demo_catalog, loads_catalog

    listing = ok(data, "catalog", "list")
    assert "事项目录 2026.11.1（青禾县）" in listing
    assert re.search(r"370999-MZ-001\s+最低生活保障申请", listing)
    assert re.search(r"2026\.11\.1\s+启用\s+50", ok(data, "catalog", "list", "--versions"))

    guide = ok(data, "catalog", "show", "370999-JS-001")
    assert "事项名称：生育登记" in guide and "承诺办结时限：即办" in guide
    assert "所属站所：计生（卫生计生办）" in guide and "法定办结时限：1个工作日" in guide
    assert "FormField(" not in guide and "jisheng" not in guide
    unknown = cli(data, "catalog", "show", "NOPE-1")
    assert unknown.code == 1 and "NOPE-1" in unknown.err

    exported = tmp_path / "exported.json"
    ok(data, "catalog", "export", "-o", str(exported))
    assert loads_catalog(exported.read_text(encoding="utf-8")) == load_demo_catalog()
    assert ok(data, "catalog", "export").strip() == exported.read_text(encoding="utf-8").strip()
    other = tmp_path / "other"
    ok(other, "catalog", "import", str(exported))
    assert ok(other, "catalog", "list") == listing


def test_bad_catalog_is_rejected_and_nothing_imported(data: Path, tmp_path: Path):
    raw = json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
    raw["version"] = "2026.12.1"
    item = raw["items"][3]
    item["materials"][1]["name"] = "其他材料"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    result = cli(data, "catalog", "import", str(bad))
    assert result.code == 1
    assert item["code"] in result.err and "其他材料" in result.err
    assert "申请材料第2项" in result.err and "材料名称" in result.err
    versions = ok(data, "catalog", "list", "--versions")
    assert "2026.12.1" not in versions and "2026.11.1" in versions


def test_holidays_show_import_export(tmp_path: Path):
    shown = ok(tmp_path, "holidays", "show", "--year", "2026")
    assert re.search(r"2026-10-01\s+放假\s+国庆节", shown)
    assert "尚无法定节假日安排数据" in ok(tmp_path, "holidays", "show", "--year", "2027")

    days = [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2027-02-06", "kind": "holiday", "name": "春节"},
        {"date": "2027-02-20", "kind": "workday", "name": "春节"},
    ]
    source = tmp_path / "h2027.json"
    source.write_text(json.dumps({"years": [2027], "days": days}, ensure_ascii=False), "utf-8")
    assert "已导入节假日安排：2027年" in ok(tmp_path, "holidays", "import", str(source))
    shown = ok(tmp_path, "holidays", "show", "--year", "2027")
    assert "尚无" not in shown and re.search(r"2027-02-20\s+调休上班\s+春节", shown)

    target = tmp_path / "out.json"
    ok(tmp_path, "holidays", "export", "--year", "2027", "-o", str(target))
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["years"] == [2027] and exported["days"] == days


def test_audit_verify_ok_and_tampering_found(data: Path):
    result = cli(data, "audit", "verify")
    assert result.code == 0 and "留痕链校验通过" in result.out
    conn = sqlite3.connect(data / "bujianmian.sqlite3")
    with conn:
        conn.execute("UPDATE audit_event SET account = 'intruder' WHERE seq = 2")
    conn.close()
    result = cli(data, "audit", "verify")
    assert result.code == 3 and "第 2 条内容与其校验值不符" in result.out


def test_backup_then_restore_drops_later_data(data: Path, tmp_path: Path):
    target = tmp_path / "backup.sqlite3"
    assert "备份完成" in ok(data, "backup", str(target))
    assert cli(data, "backup", str(target)).code == 1  # never overwrites a backup
    ok(
        data,
        "township",
        "add",
        "370999102",
        "白杨镇",
        "--county-code",
        "370999",
        "--county-name",
        "青禾县",
    )
    assert _townships(data) == [TOWNSHIP, "370999102"]
    out = ok(data, "restore", str(target))
    assert "恢复前的数据库另存为" in out
    assert _townships(data) == [TOWNSHIP]
    assert cli(data, "audit", "verify").code == 0
    kept = list((data / "backups").glob("before-restore-*.sqlite3"))
    assert len(kept) == 1
    missing = cli(data, "restore", str(tmp_path / "nope.sqlite3"))
    assert missing.code == 1 and "备份文件不存在" in missing.err


def _months_back(n: int) -> list[str]:
    today = date.today()
    months = []
    year, month = today.year, today.month
    for _ in range(n):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def _total(out: str) -> int:
    match = re.search(r"接件总数 (\d+)", out)
    assert match, out
    return int(match.group(1))


def test_demo_prints_accounts_and_refuses_a_second_run(tmp_path: Path):
    out = ok(tmp_path, "demo", "--cases", "30")
    assert "演示办件 30 件" in out
    rows = re.findall(r"^(window1|issue1|admin1)\s+\S+\s+\S+\s+(\S{12})$", out, re.MULTILINE)
    assert {name for name, _ in rows} == {"window1", "issue1", "admin1"}
    assert _login_works(tmp_path, "window1", dict(rows)["window1"])
    again = cli(tmp_path, "demo", "--cases", "5")
    assert again.code == 1 and "演示数据只能写入新的空数据库" in again.err

    current = ok(tmp_path, "stats", "--month", _months_back(1)[0])
    for heading in ("按窗口", "按状态", "按站办所", "好差评", "按事项"):
        assert heading in current
    # The demo spreads its cases over the last 180 days: seven months hold them all.
    assert sum(_total(ok(tmp_path, "stats", "--month", m)) for m in _months_back(7)) == 30
    assert _total(ok(tmp_path, "stats", "--month", "2001-01")) == 0


def test_no_subcommand_opens_the_client_and_its_database(tmp_path: Path):
    """`bujianmian` alone starts the desktop client: the login window waits for input while
    the database is created behind it. The process is stopped by its PID."""
    import time

    from helpers.cli import _env

    data, errors = tmp_path / "data", tmp_path / "stderr.txt"
    database = data / "bujianmian.sqlite3"
    with open(errors, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "--data", str(data)],
            cwd=ROOT,
            env={**_env(), "QT_QPA_PLATFORM": "offscreen"},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not database.exists():
            assert process.poll() is None, errors.read_text(encoding="utf-8", errors="replace")
            time.sleep(0.2)
        assert database.exists(), "the client did not open its database"
        time.sleep(1)
        assert process.poll() is None  # still showing the login window
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "add", "x1", "--name", "某", "--role", "boss"], "未知角色：boss"),
        (["stats", "--month", "2026-13"], "月份格式应为 YYYY-MM"),
        (["stats"], "以下参数须给出其一"),
        (["township"], "缺少必需的参数"),
        (["nosuch"], "无效的选项"),
        (["catalog", "import", "/nonexistent/catalog.json"], "无法读取文件"),
    ],
)
def test_bad_input_gives_a_chinese_error(tmp_path: Path, args: list[str], message: str):
    result = cli(tmp_path, *args)
    assert result.code != 0
    assert message in result.err
    assert "错误：" in result.err


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    with pg_schema("t") as url:
        yield url


@pytest.mark.postgres
def test_postgres_smoke(tmp_path: Path, pg_url: str):
    assert "结构版本 2" in ok(tmp_path, "init", db=pg_url)
    out = ok(tmp_path, "demo", "--cases", "20", db=pg_url)
    assert "演示办件 20 件" in out and "admin1" in out
    totals = [_total(ok(tmp_path, "stats", "--month", m, db=pg_url)) for m in _months_back(7)]
    assert sum(totals) == 20
    assert not (tmp_path / "bujianmian.sqlite3").exists()
