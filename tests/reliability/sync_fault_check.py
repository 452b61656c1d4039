"""After the faults: what the townships hold against what the county has (API and database).

`township_cases` reads one township database: every case with its revision, attachments and
the exact package of its latest revision, and the status of every outbox row. `county_audit`
compares all of it with the county: through the staff API (inbox, case detail, blobs) and in
its own database and blob folder. Anything missing counts as lost, anything there twice (or
there but unknown to the townships) as duplicated, anything different as corrupted.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee as pw
import requests
from sync_fault_township import open_township

from app.services.attachments import blob_path
from app.store.models import AttachmentRecord, CaseRecord, OutboxRecord
from sync.client.outbox import frozen_body
from sync.client.package import case_id_of
from sync.protocol import HandoffPackage
from sync.protocol_county import CaseDetail, CasePage, CaseSummary
from sync.server import store
from sync.server.store import (
    CountyBlobGrantRecord,
    CountyBlobRecord,
    CountyCaseRecord,
    CountyPackageRecord,
)

FETCHERS = 4


@dataclass(frozen=True)
class TownshipCase:
    township: str
    uuid: str
    case_no: str
    revision: int
    attachments: tuple[str, ...]
    package: HandoffPackage  # the latest revision exactly as the township sent it


@dataclass
class Audit:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    corrupted: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return f"lost {len(self.lost)}, duplicated {len(self.duplicated)}, corrupted " + str(
            len(self.corrupted)
        )

    def problems(self) -> str:
        rows = [f"lost: {p}" for p in self.lost] + [f"duplicated: {p}" for p in self.duplicated]
        return "\n".join(rows + [f"corrupted: {p}" for p in self.corrupted][:40])


def township_cases(
    data: Path, url: str, passphrase: str, audit: Audit
) -> tuple[list[TownshipCase], Counter[str]]:
    """The township's cases and its outbox rows by status (a damaged local file: corrupted)."""
    rt = open_township(data, url, passphrase)
    try:
        rows = list(OutboxRecord.select().order_by(OutboxRecord.revision))
        last = {case_id_of(row): row for row in rows}  # each case's latest revision
        hashes: dict[int, list[str]] = defaultdict(list)
        for case_id, sha in (
            AttachmentRecord.select(AttachmentRecord.case, AttachmentRecord.sha256)
            .order_by(AttachmentRecord.id)
            .tuples()
        ):
            hashes[case_id].append(sha)
        for sha in {sha for shas in hashes.values() for sha in shas}:
            if hashlib.sha256(blob_path(rt, sha).read_bytes()).hexdigest() != sha:
                audit.corrupted.append(f"township file {sha}")
        cases = [
            TownshipCase(case.township, str(case.uuid), case.case_no, case.revision,
                         tuple(hashes[case.id]),
                         HandoffPackage.model_validate_json(frozen_body(rt, last[case.id])))
            for case in CaseRecord.select().order_by(CaseRecord.id)
        ]  # fmt: skip
        return cases, Counter(row.status for row in rows)
    finally:
        rt.close()


class StaffApi:
    """GETs with a county staff token; `fetch_all` sends several at once (each thread its own
    session: the server opens a database connection per request, so this is where the
    audit's time goes)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = f"{url}/api/v1"
        self.token = token
        self._local = threading.local()

    def get(self, path: str, **params: Any) -> requests.Response:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
        return session.get(f"{self.url}{path}", params=params, timeout=30)

    def fetch_all(self, paths: list[str]) -> list[requests.Response]:
        with ThreadPoolExecutor(max_workers=FETCHERS) as pool:
            return list(pool.map(self.get, paths))

    def inbox(self) -> list[CaseSummary]:
        cases: list[CaseSummary] = []
        while True:
            answer = self.get("/county/cases", offset=len(cases), limit=200)
            page = CasePage.model_validate_json(answer.content)
            cases += page.cases
            if not page.cases or len(cases) >= page.total:
                return cases


def _check_detail(case: TownshipCase, answer: requests.Response, audit: Audit) -> None:
    """Revisions 1…n once each, and the latest package exactly as the township sent it."""
    detail = CaseDetail.model_validate_json(answer.content)
    seen = Counter(h.revision for h in detail.history)
    wanted = range(1, case.revision + 1)
    audit.lost += [f"{case.case_no} revision {r}" for r in wanted if not seen[r]]
    extra = sum(n for r, n in seen.items() if r not in wanted) + sum(
        n - 1 for r, n in seen.items() if r in wanted
    )
    if extra:
        audit.duplicated.append(f"{case.case_no}: revisions {sorted(seen.elements())}")
    if detail.package != case.package or detail.summary.latest_revision != case.revision:
        audit.corrupted.append(f"package of {case.case_no} differs from what was sent")


def _api_audit(api: StaffApi, expected: list[TownshipCase], audit: Audit) -> None:
    inbox = api.inbox()
    by_uuid = Counter(str(c.case_uuid) for c in inbox)
    by_no = Counter(c.case_no for c in inbox)
    known = {c.uuid for c in expected}
    audit.duplicated += [
        f"county case {u} unknown to every township" for u in by_uuid.keys() - known
    ]
    present = []
    for case in expected:
        if min(by_uuid[case.uuid], by_no[case.case_no]) == 0:
            audit.lost.append(f"case {case.case_no}")
            continue
        if max(by_uuid[case.uuid], by_no[case.case_no]) > 1:
            audit.duplicated.append(f"case {case.case_no} listed {by_no[case.case_no]} times")
        present.append(case)
    for case, answer in zip(present, api.fetch_all([f"/county/cases/{c.uuid}" for c in present]),
                            strict=True):  # fmt: skip
        _check_detail(case, answer, audit)
    hashes = sorted({sha for case in expected for sha in case.attachments})
    for sha, answer in zip(hashes, api.fetch_all([f"/county/blobs/{h}" for h in hashes]),
                           strict=True):  # fmt: skip
        if answer.status_code == 404:
            audit.lost.append(f"blob {sha}")
        elif answer.status_code != 200 or hashlib.sha256(answer.content).hexdigest() != sha:
            audit.corrupted.append(f"blob {sha}: {answer.status_code}")
    audit.figures["county cases (API)"] = len(inbox)
    audit.figures["blobs (API)"] = len(hashes)


def _db_audit(db_url: str, blobs_dir: Path, expected: list[TownshipCase], audit: Audit) -> None:
    db = store.open_database(db_url)
    try:
        with store.connection(db):
            count = pw.fn.COUNT(pw.SQL("*"))
            for column in (CountyCaseRecord.uuid, CountyCaseRecord.case_no):
                twice = CountyCaseRecord.select(column, count).group_by(column).having(count > 1)
                audit.duplicated += [f"county case row {r[0]} x{r[1]}" for r in twice.tuples()]
            key = (CountyPackageRecord.uuid, CountyPackageRecord.revision)
            twice = CountyPackageRecord.select(*key, count).group_by(*key).having(count > 1)
            audit.duplicated += [f"package {r[0]} rev {r[1]} x{r[2]}" for r in twice.tuples()]
            packages = {(str(u), r) for u, r in CountyPackageRecord.select(*key).tuples()}
            wanted = {(c.uuid, r) for c in expected for r in range(1, c.revision + 1)}
            audit.lost += [f"package row {u} rev {r}" for u, r in sorted(wanted - packages)]
            audit.duplicated += [f"package row {u} rev {r}" for u, r in sorted(packages - wanted)]
            stored = {r.sha256: r.size for r in CountyBlobRecord.select()}
            granted = CountyBlobGrantRecord.select(
                CountyBlobGrantRecord.township, CountyBlobGrantRecord.sha256
            )
            grants = set(granted.tuples())
            audit.figures["package rows"] = len(packages)
            audit.figures["county case rows"] = CountyCaseRecord.select().count()
    finally:
        db.close()
    needed = {(c.township, sha) for c in expected for sha in c.attachments}
    audit.lost += [f"blob row {sha}" for sha in sorted({sha for _, sha in needed} - set(stored))]
    audit.lost += [f"grant of {sha} to {t}" for t, sha in sorted(needed - grants)]
    for sha, size in stored.items():
        path = blobs_dir / sha[:2] / sha
        data = path.read_bytes() if path.exists() else b""
        if hashlib.sha256(data).hexdigest() != sha or len(data) != size:
            audit.corrupted.append(f"blob file {sha}")
    on_disk = [p for p in blobs_dir.glob("??/*") if p.is_file()]
    audit.figures["blob files without a row"] = sum(p.name not in stored for p in on_disk)
    audit.figures["blob rows"] = len(stored)
    audit.figures["blob files"] = len(on_disk)
    audit.figures["half uploads left in .incoming"] = len(list(blobs_dir.glob(".incoming/*")))


def county_audit(api: StaffApi, db_url: str, blobs_dir: Path,
                 expected: list[TownshipCase], audit: Audit) -> Audit:  # fmt: skip
    _api_audit(api, expected, audit)
    _db_audit(db_url, blobs_dir, expected, audit)
    audit.figures["cases"] = len(expected)
    audit.figures["revisions"] = sum(c.revision for c in expected)
    return audit


def dump(audit: Audit) -> str:
    return json.dumps(audit.figures, ensure_ascii=False)
