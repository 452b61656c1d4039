"""No plaintext personal data: after a demo run, no ID or mobile number is readable anywhere.

The demo (`bujianmian demo`) stores 200 realistic cases; then every byte it left behind —
the database, its WAL, logs, backups, and what it printed — is scanned for valid 18-digit
ID numbers and mobile numbers. A planted number proves the scanner would have found one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from app.domain.masking import find_unmasked_ids
from app.services.runtime import open_runtime
from app.store.models import ApplicantRecord, CaseRecord
from forms.validators import check_mobile, check_resident_id, make_resident_id
from forms.validators import resident_id_check_char as check_char

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "test-passphrase-123"
DEMO_CASES = 200
# Bounded by anything but ASCII letters and digits, as masking does: a hex digest may hold a
# run of 18 digits, which is not a number anybody typed.
ID_RUN = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")


@dataclass
class DemoRun:
    data_dir: Path
    blobs: dict[str, bytes]  # every file under the data dir, plus "stdout" and "stderr"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    data = tmp_path_factory.mktemp("demo") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUJIANMIAN_")}
    # The fail backend keeps the demo away from any real keyring: the key is passphrase-wrapped.
    env.update(BUJIANMIAN_PASSPHRASE=PASSPHRASE,
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--data", str(data), "demo", "--cases", str(DEMO_CASES)],
        cwd=ROOT, env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    blobs = {str(p.relative_to(data)): p.read_bytes() for p in data.rglob("*") if p.is_file()}
    blobs.update(stdout=result.stdout, stderr=result.stderr)
    return DemoRun(data, blobs)


def id_runs(text: str) -> list[str]:
    """18-character ID-shaped runs whose GB 11643 check character is right."""
    return [m.upper() for m in ID_RUN.findall(text) if check_char(m[:17]) == m[17].upper()]


def leaked_numbers(text: str) -> list[str]:
    return find_unmasked_ids(text) + id_runs(text)


def test_demo_leaves_no_readable_id_or_mobile_number(demo: DemoRun) -> None:
    assert "bujianmian.sqlite3" in demo.blobs
    assert len(demo.blobs["bujianmian.sqlite3"]) > 100_000  # the demo really wrote cases
    print(f"\nscanned: { {name: len(blob) for name, blob in demo.blobs.items()} }")

    leaks = {}
    for name, blob in demo.blobs.items():
        found = leaked_numbers(blob.decode("latin-1"))
        if found:
            leaks[name] = found[:5]
    assert leaks == {}

    # Positive control: the same scan over the database text with numbers planted in it.
    planted_id = make_resident_id("370902", date(1985, 6, 1), 123)
    planted_x = make_resident_id("370911", date(1970, 1, 1), 1)  # may end in X: any case
    planted_phone = "13912345678"
    text = demo.blobs["bujianmian.sqlite3"].decode("latin-1")
    middle = len(text) // 2
    planted = (
        f"{text[:middle]}\x00{planted_id}\x07{planted_phone}\x00{planted_x.lower()}\x1f"
        f"{text[middle:]}"
    )
    assert planted_id in id_runs(planted) and planted_x in id_runs(planted)
    assert {planted_id, planted_x, planted_phone} <= set(find_unmasked_ids(planted))


def test_demo_applicants_are_stored_and_only_encrypted(demo: DemoRun) -> None:
    rt = open_runtime(demo.data_dir, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    try:
        assert CaseRecord.select().count() == DEMO_CASES
        applicants = list(ApplicantRecord.select().where(ApplicantRecord.kind == "person"))
        ids = [rt.cipher.decrypt(bytes(a.id_cipher), context="applicant.id") for a in applicants]
        phones = [
            rt.cipher.decrypt(bytes(a.phone_cipher), context="applicant.phone")
            for a in applicants
            if a.phone_cipher
        ]
    finally:
        rt.close()
    assert ids and phones
    assert check_resident_id(ids[0]).ok, "the stored ID number does not decrypt to a valid one"
    assert all(check_resident_id(n).ok for n in ids)
    assert all(check_mobile(n).ok for n in phones)
    # Every applicant's real number, searched for literally in everything the demo left.
    for name, blob in demo.blobs.items():
        present = [n for n in ids + phones if n.encode("ascii") in blob]
        assert present == [], f"{name} holds {len(present)} plaintext numbers"
