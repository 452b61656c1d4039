"""Audit tampering: raw SQL edits, deletions, reordering and forgeries break the verified chain.

Each tampering is done the way an insider with database access would do it (plain SQL,
bypassing the services); `audit.verify` and `bujianmian audit verify` must both notice.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from helpers.factories import make_case, make_world

from app.domain.states import CaseState
from app.services import audit
from app.services.runtime import Runtime, open_runtime

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "test-passphrase-123"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def chain(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A database with some real activity, its key wrapped under a passphrase the CLI knows."""
    rt = open_runtime(tmp_path / "data", db_url, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    world = make_world(rt)
    for state in (CaseState.CLOSED, CaseState.REFUSED, CaseState.HANDED_OFF, CaseState.IN_REVIEW):
        make_case(rt, world, state)
    assert audit.verify(rt.audit_key).ok
    yield rt
    rt.close()


def cli_verify(rt: Runtime) -> subprocess.CompletedProcess[str]:
    """`python -m app.cli --data D --db URL audit verify` in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUJIANMIAN_")}
    # The fail backend keeps the CLI away from any real keyring: the passphrase path is tested.
    env.update(BUJIANMIAN_PASSPHRASE=PASSPHRASE,
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--data", str(rt.data_dir), "--db", rt.url,
         "audit", "verify"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _seqs(rt: Runtime) -> list[int]:
    return [r[0] for r in rt.db.execute_sql("SELECT seq FROM audit_event ORDER BY seq")]


def edit_details(rt: Runtime) -> str:
    p, seq = rt.db.param, _seqs(rt)[len(_seqs(rt)) // 2]
    (details,) = rt.db.execute_sql(f"SELECT details FROM audit_event WHERE seq = {p}", (seq,))
    changed = {**json.loads(details[0]), "opinion": "不同意办理"}
    rt.db.execute_sql(
        f"UPDATE audit_event SET details = {p} WHERE seq = {p}",
        (json.dumps(changed, ensure_ascii=False, sort_keys=True), seq),
    )
    return f"第 {seq} 条内容与其校验值不符"


def delete_middle(rt: Runtime) -> str:
    seq = _seqs(rt)[len(_seqs(rt)) // 2]
    rt.db.execute_sql(f"DELETE FROM audit_event WHERE seq = {rt.db.param}", (seq,))
    return f"第 {seq} 条缺失"


def delete_last(rt: Runtime) -> str:
    last = _seqs(rt)[-1]
    rt.db.execute_sql(f"DELETE FROM audit_event WHERE seq = {rt.db.param}", (last,))
    return "链尾不符"


def swap_seqs(rt: Runtime) -> str:
    p, seqs = rt.db.param, _seqs(rt)
    a, b = seqs[3], seqs[-4]
    for old, new in ((a, -1), (b, a), (-1, b)):  # seq is unique: go through a free value
        rt.db.execute_sql(f"UPDATE audit_event SET seq = {p} WHERE seq = {p}", (new, old))
    return "顺序被调换"


def insert_forged(rt: Runtime) -> str:
    """A forger who appends a well-linked row and moves the head, but lacks the HMAC key."""
    p = rt.db.param
    (head,) = rt.db.execute_sql("SELECT seq, hash FROM audit_head WHERE id = 1")
    row = {
        "seq": head[0] + 1, "at": datetime(2026, 11, 16, 10, 0), "account": "window1",
        "desk": "A1", "action": "case.approve", "object_type": "case", "object_id": "forged",
        "outcome": "ok", "details": '{"opinion":"同意办理"}', "prev_hash": head[1],
    }  # fmt: skip
    forged_hash = audit.chain_hash(b"\x42" * 32, row)
    columns = ", ".join(row) + ", hash"
    values = [*row.values(), forged_hash]
    values[1] = row["at"].isoformat(sep=" ")
    rt.db.execute_sql(
        f"INSERT INTO audit_event ({columns}) VALUES ({', '.join([p] * len(values))})", values
    )
    rt.db.execute_sql(
        f"UPDATE audit_head SET seq = {p}, hash = {p} WHERE id = 1", (row["seq"], forged_hash)
    )
    return f"第 {row['seq']} 条内容与其校验值不符"


TAMPERINGS: dict[str, Callable[[Runtime], str]] = {
    "edit_details": edit_details,
    "delete_middle": delete_middle,
    "delete_last": delete_last,
    "swap_seqs": swap_seqs,
    "insert_forged": insert_forged,
}


def test_untouched_chain_verifies_in_cli(chain: Runtime) -> None:
    result = cli_verify(chain)
    assert result.returncode == 0, result.stderr
    assert "留痕链校验通过" in result.stdout


@pytest.mark.parametrize("tamper", list(TAMPERINGS))
def test_tampering_is_detected(chain: Runtime, tamper: str) -> None:
    with chain.db.atomic():
        expected = TAMPERINGS[tamper](chain)

    result = audit.verify(chain.audit_key)
    assert not result.ok
    assert result.problems and all(CJK.search(p) for p in result.problems)
    assert any(expected in p for p in result.problems), result.problems
    assert result.summary().startswith("留痕链校验失败")

    cli = cli_verify(chain)
    assert cli.returncode != 0
    assert "留痕链校验失败" in cli.stdout
    assert expected in cli.stdout
