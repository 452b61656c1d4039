"""`bujianmian documents samples`, `print`, `stats --pdf/--xlsx` and `settings`, as subprocesses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl
import pytest
from helpers.cli import cli, ok


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    data = tmp_path_factory.mktemp("cli-docs")
    out = ok(data, "demo", "--cases", "60")
    passwords = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in ("window1", "issue1"):
            passwords[parts[0]] = parts[3]
    return data, passwords


def _text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_samples_one_of_every_kind_with_the_townships_details(demo, tmp_path):
    data, _ = demo
    out = ok(data, "documents", "samples", str(tmp_path / "s"))
    pdfs = sorted((tmp_path / "s").glob("*.pdf"))
    assert len(pdfs) == 9 and "已输出 9 份" in out
    receipt = _text(pdfs[0])
    assert "收件回执" in receipt and "样张01" in receipt and "0538-87651234" in receipt


def test_print_requires_a_login_first_then_admin_reprints(demo, tmp_path):
    from helpers.cli import PASSPHRASE

    from app.services.runtime import open_runtime
    from app.store.db import default_url
    from app.store.models import CaseRecord

    data, passwords = demo
    rt = open_runtime(data, default_url(data), keystore=None, ask_passphrase=lambda: PASSPHRASE)
    case_no = CaseRecord.select().where(CaseRecord.accepted_on.is_null(False)).first().case_no
    rt.close()
    target = tmp_path / "r.pdf"
    refused = cli(data, "print", "receipt", case_no, "-o", str(target))
    assert refused.code == 1 and "首次出具" in refused.err and not target.exists()
    # First login forces a password change, so change it through the service first.
    from app.services import accounts

    rt = open_runtime(data, default_url(data), keystore=None, ask_passphrase=lambda: PASSPHRASE)
    session = accounts.login(rt, "window1", passwords["window1"], desk="A1")
    accounts.change_password(rt, session, passwords["window1"], "Qinghe#2026a")
    rt.close()
    login_env = {"BUJIANMIAN_USER_PASSWORD": "Qinghe#2026a"}
    args = ("print", "receipt", case_no, "-o", str(target), "--user", "window1", "--desk", "A1")
    first = ok(data, *args, env=login_env)
    assert "已出具收件回执" in first and case_no in _text(target)
    again = ok(data, "print", "receipt", case_no, "-o", str(tmp_path / "r2.pdf"))
    assert "已补打" in again
    assert (tmp_path / "r2.pdf").read_bytes() == target.read_bytes()


def test_stats_pdf_and_xlsx_totals_agree(demo, tmp_path):
    data, _ = demo
    from datetime import date

    today = date.today()
    out = ok(
        data,
        "stats",
        "--range",
        "2020-01-01",
        today.isoformat(),
        "--pdf",
        str(tmp_path / "s.pdf"),
        "--xlsx",
        str(tmp_path / "s.xlsx"),
    )
    total = int(out.split("接件总数")[1].split()[0])
    assert total == 60
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx")["按状态"]
    rows = {r[0]: r[1] for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
    assert rows["合计"] == total
    assert str(total) in _text(tmp_path / "s.pdf")
    bad = cli(data, "stats", "--range", today.isoformat(), "2020-01-01")
    assert bad.code == 1 and "截止日期" in bad.err


def test_settings_list_and_set(demo):
    data, _ = demo
    ok(data, "settings", "set", "organ_phone", "0538-11112222", "--township", "370999101")
    assert "0538-11112222" in ok(data, "settings", "list", "--township", "370999101")
    bad = cli(data, "settings", "set", "progress_base_url", "ftp://x")
    assert bad.code == 1 and "网址" in bad.err
    missing = cli(data, "settings", "set", "organ_phone", "0538-11112222")
    assert missing.code == 1 and "须指定乡镇" in missing.err
