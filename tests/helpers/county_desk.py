"""For the county desk's tests: one real county server for a whole test module (two
townships, one staff token), and 帮代办 packages sent to it the way a township sends them."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

# The county server helpers live next to the sync tests (their conftest is not loaded here).
_SYNC_TESTS = str(Path(__file__).resolve().parents[1] / "sync")
if _SYNC_TESTS not in sys.path:
    sys.path.insert(0, _SYNC_TESTS)

import county_helpers as sample  # noqa: E402, F401  (people, files, packages of the sync tests)
from county_helpers import OTHER, TOWNSHIP, attachment, bearer, package, sha  # noqa: E402
from county_live import LiveCounty, free_port  # noqa: E402

from forms.catalog import load_demo_catalog  # noqa: E402
from sync.server import auth, store  # noqa: E402

TOWN_NAMES = {TOWNSHIP: "青禾镇", OTHER: "白杨镇"}
_serials = itertools.count(1)


@dataclass
class DeskCounty:
    """The county server process and each township's credential."""

    live: LiveCounty
    towns: dict[str, str]

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def staff(self) -> str:
        return self.live.staff

    def detail(self, case_uuid: str) -> dict[str, Any]:
        answer = self.live.staff_get(f"/county/cases/{case_uuid}")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def status(self, case_uuid: str) -> str:
        return str(self.detail(case_uuid)["summary"]["status"])

    def kinds(self, case_uuid: str) -> list[str]:
        return [e["kind"] for e in self.detail(case_uuid)["events"]]


class QuickCounty(LiveCounty):
    """The same server process, its townships and staff registered in this process: one
    subprocess instead of three (the credentials are the same kind the CLI issues)."""

    def __init__(self, folder: Path) -> None:
        self.db = f"sqlite:///{folder / 'county.sqlite3'}"
        self.data, self.log = folder / "county-data", folder / "county.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.workers = 1
        db = store.open_database(self.db)
        try:
            self.towns = {
                code: auth.add_township(db, code, name) for code, name in TOWN_NAMES.items()
            }
            self.township = self.towns[TOWNSHIP]
            self.staff = auth.add_staff(db, "county1", "县窗口甲", "window")
        finally:
            db.close()


@contextmanager
def running_county(folder: Path) -> Iterator[DeskCounty]:
    """A county server for a test module, stopped (by its PID) at the end."""
    live = QuickCounty(folder)
    live.start()
    try:
        yield DeskCounty(live, live.towns)
    finally:
        live.stop()


def demo_item() -> dict[str, Any]:
    """A county item of the demo catalog, as a package carries it (form with full numbers)."""
    item = load_demo_catalog().item("370999-XJ-001")
    materials = [
        {"name": m.name, "required": m.required, "status": "received", "form": "原件"}
        for m in item.materials
    ]
    return {"item_code": item.code, "item_name": item.name, "materials": materials}


def send(
    county: DeskCounty,
    township: str = TOWNSHIP,
    *,
    files: tuple[tuple[bytes, str, str], ...] = (),
    deadline_in: int = 20,
    **changes: Any,
) -> dict[str, Any]:
    """Upload the files (bytes, mime, material) and send a package; returns what was sent.

    Dates are relative to the real today: the county server runs on the real clock."""
    token = county.towns[township]
    today = date.today()
    dates = {
        "accepted_on": (today - timedelta(days=30)).isoformat(),
        "handed_off_on": (today - timedelta(days=29)).isoformat(),
        "deadline": (today + timedelta(days=deadline_in)).isoformat(),
    }
    form = {"applicant_name": "欧阳晓明", "category": "肢体残疾"}
    body = package(
        township,
        next(_serials),
        attachments=[attachment(data, mime, material) for data, mime, material in files],
        **{**demo_item(), **dates, "form_data": form, **changes},
    )
    for data, _mime, _material in files:
        stored = requests.put(
            f"{county.url}/api/v1/blobs/{sha(data)}", data=data, headers=bearer(token), timeout=10
        )
        assert stored.status_code in (200, 201), stored.text
    answer = requests.post(
        f"{county.url}/api/v1/packages", json=body, headers=bearer(token), timeout=10
    )
    assert answer.status_code in (200, 201), answer.text
    return body


def supplement(county: DeskCounty, sent: dict[str, Any], revision: int = 2) -> dict[str, Any]:
    """The township's corrected package for a case the county sent back."""
    body = {**sent, "revision": revision, "action": "supplement"}
    answer = requests.post(
        f"{county.url}/api/v1/packages",
        json=body,
        headers=bearer(county.towns[sent["township"]]),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return body


def township_events(county: DeskCounty, township: str = TOWNSHIP) -> list[dict[str, Any]]:
    """The township's own event feed, as its sync worker reads it."""
    answer = requests.get(
        f"{county.url}/api/v1/events",
        params={"after": 0, "limit": 500},
        headers=bearer(county.towns[township]),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events
