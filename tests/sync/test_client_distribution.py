"""Catalog versions and the holiday calendar from the real county server process: applied
through the township's own import services when they changed, a bad release refused whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import test_client_e2e
from county_helpers import bearer
from county_live import LiveCounty, cli
from helpers.cli import PASSPHRASE, ok
from helpers.factories import ADMIN

from app.services import audit
from app.services.catalog import get_catalog, import_catalog
from app.store.db import make_database
from app.store.models import CatalogVersionRecord
from forms.catalog import catalog_to_dict, load_demo_catalog
from sync.client.distribution import HOLIDAY_SOURCE
from sync.client.lease import SendLease, read_lease
from sync.client.status import CONTACT, current
from sync.client.worker import run_cycle
from sync.server.store import CountyCatalogRecord

# The live county server process and a township client on it, as in the end-to-end tests.
county = test_client_e2e.county
client = test_client_e2e.client

HOLIDAYS_2027 = {
    "years": [2027],
    "days": [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2027-02-06", "kind": "workday", "name": "春节调休"},
        {"date": "2027-02-11", "kind": "holiday", "name": "春节"},
        {"date": "2027-02-12", "kind": "holiday", "name": "春节"},
    ],
}


class Publisher:
    """The county's admin: publishes catalog versions and holidays over the real API."""

    def __init__(self, county: LiveCounty) -> None:
        self.county = county
        self.token = cli(
            "county", "staff", "add", "admin1", "县管理员", "--db", county.db, "--role", "admin"
        )

    def catalog(self, version: str, *, renamed: str = "") -> str:
        """Publish the demo catalog under `version` (one item renamed, for other content)."""
        text = catalog_text(version, renamed=renamed)
        answer = requests.post(
            f"{self.county.url}/api/v1/catalog",
            json={"content": text},
            headers=bearer(self.token),
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        return text

    def holidays(self, calendar: dict[str, Any]) -> None:
        answer = requests.post(
            f"{self.county.url}/api/v1/holidays",
            json=calendar,
            headers=bearer(self.token),
            timeout=30,
        )
        assert answer.status_code in (200, 201), answer.text


def catalog_text(version: str, *, renamed: str = "") -> str:
    data = catalog_to_dict(load_demo_catalog())
    data["version"] = version
    if renamed:
        data["items"][0]["name"] = renamed
    return json.dumps(data, ensure_ascii=False)


@pytest.fixture
def publisher(county: LiveCounty) -> Publisher:
    return Publisher(county)


@pytest.fixture(autouse=True)
def _contact_reset() -> Iterator[None]:
    yield
    CONTACT.note(None, "")  # the process-wide last contact must not leak into other tests


def _events(action: str, object_type: str, object_id: str = "") -> list[Any]:
    return [e for e in audit.events_for(object_type, object_id) if e.action == action]


def test_nothing_published_then_catalog_and_holidays_applied_once(rt, world, publisher, client):
    first = run_cycle(rt, client)
    assert first.distribution is not None and first.distribution.text == ""
    assert first.distribution.problems == [] and get_catalog().version == "2026.11.1"

    publisher.catalog("2026.12.1")
    publisher.holidays(HOLIDAYS_2027)
    report = run_cycle(rt, client)
    assert report.distribution is not None
    assert (report.distribution.catalog, report.distribution.holiday_years) == ("2026.12.1", [2027])
    assert (
        "已启用县级事项目录 2026.12.1 版" in report.text
        and "已更新 2027 年节假日安排" in report.text
    )
    assert get_catalog().version == "2026.12.1"
    assert 2027 in rt.calendar.covered_years
    assert not rt.calendar.is_workday(date(2027, 2, 11)) and rt.calendar.is_workday(
        date(2027, 2, 6)
    )
    [imported] = _events("catalog.import", "catalog", "2026.12.1")
    assert imported.account == "county-sync"
    [holidays] = _events("holidays.import", "holiday")
    assert holidays.details["source"] == HOLIDAY_SOURCE and holidays.details["years"] == [2027]
    assert current(rt).catalog == "2026.12.1"

    again = run_cycle(rt, client)  # unchanged: nothing applied, nothing audited
    assert again.distribution is not None and again.distribution.text == ""
    assert len(_events("catalog.import", "catalog", "2026.12.1")) == 1
    assert len(_events("holidays.import", "holiday")) == 1

    publisher.catalog("2026.3.1", renamed="旧版事项")  # older than the active version
    assert run_cycle(rt, client).distribution.catalog == ""  # type: ignore[union-attr]
    assert get_catalog().version == "2026.12.1"


def _rejected() -> list[Any]:
    return _events("sync.catalog_rejected", "catalog", "2026.12.1")


def test_bad_releases_are_reported_once_and_change_nothing(rt, world, county, publisher, client):
    # The township already holds 2026.12.1 with other content (imported from a file).
    import_catalog(rt, ADMIN, catalog_text("2026.12.1", renamed="本地修改的事项"), activate=False)
    publisher.catalog("2026.12.1")
    report = run_cycle(rt, client)
    assert report.distribution is not None and report.distribution.catalog == ""
    [problem] = report.distribution.problems
    assert "2026.12.1 版未能启用" in problem and "已存在且内容不同" in problem
    assert get_catalog().version == "2026.11.1"
    assert current(rt).last_error == problem  # the status bar's last error
    [refused] = _rejected()
    assert refused.outcome == "refused" and refused.object_id == "2026.12.1"

    again = run_cycle(rt, client)  # still reported, but recorded only once
    assert again.distribution is not None and again.distribution.problems == [problem]
    assert len(_rejected()) == 1

    # A release whose content does not match the hash the county gives for it.
    publisher.catalog("2026.12.2")
    table = CountyCatalogRecord._meta.table_name  # type: ignore[attr-defined]
    county_db = make_database(county.db)
    try:
        county_db.execute_sql(
            f"UPDATE {table} SET content = {county_db.param} WHERE version = {county_db.param}",
            (catalog_text("2026.12.2", renamed="被篡改的事项"), "2026.12.2"),
        )
    finally:
        county_db.close()
    tampered = run_cycle(rt, client)
    assert tampered.distribution is not None
    assert "校验值不符" in tampered.distribution.problems[0]
    assert get_catalog().version == "2026.11.1"
    assert CatalogVersionRecord.get_or_none(CatalogVersionRecord.version == "2026.12.2") is None

    publisher.catalog("2026.12.3")  # a good release after the bad ones
    fixed = run_cycle(rt, client)
    assert fixed.distribution is not None and fixed.distribution.catalog == "2026.12.3"
    assert fixed.distribution.problems == [] and current(rt).last_error == ""


def test_cli_run_prints_what_was_applied_and_respects_another_desk(
    db_url: str, county: LiveCounty, publisher: Publisher, tmp_path: Path
):
    data = tmp_path / "town"
    credential = {"BUJIANMIAN_SYNC_CREDENTIAL": county.township}
    ok(data, "init", db=db_url)
    ok(data, "sync", "configure", "--url", county.url, db=db_url, env=credential)
    publisher.catalog("2026.12.1")
    publisher.holidays(HOLIDAYS_2027)

    from app.services.runtime import open_runtime

    rt = open_runtime(data, db_url, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    try:
        desk = SendLease(rt, "A2 综合窗口B岗")
        assert desk.acquire()
        held = ok(data, "sync", "run", "--once", db=db_url, env=credential)
        assert "县级同步由 A2 综合窗口B岗 进行，本轮未发送" in held
        assert "（由 A2 综合窗口B岗 发送）" in held
        assert CatalogVersionRecord.select().count() == 0
        desk.release()

        once = ok(data, "sync", "run", "--once", db=db_url, env=credential)
        assert "已启用县级事项目录 2026.12.1 版" in once and "已更新 2027 年节假日安排" in once
        assert "县级同步：在线" in once
        assert get_catalog().version == "2026.12.1"
        assert read_lease() is None  # the command gave the lease back when it ended
    finally:
        rt.close()
