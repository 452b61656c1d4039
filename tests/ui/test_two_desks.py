"""Two desks on one database (PostgreSQL in CI, SQLite too): another desk's change reaches
this desk's queue without a refresh, and a save from a stale view is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.factories import TOWNSHIP, make_case, make_world
from helpers.other_desk import PASSPHRASE

from app.domain.case import Action
from app.domain.errors import StaleError
from app.domain.states import CaseState
from app.services import accounts, cases
from app.services.case_view import get_case
from app.services.runtime import open_runtime
from app.ui.context import UiContext
from app.ui.widgets.queue import QueueWidget

OTHER_DESK = Path(__file__).resolve().parents[1] / "helpers" / "other_desk.py"


@pytest.fixture
def shared(db_url: str, tmp_path: Path):
    """A database both processes can open: its key is wrapped with a passphrase."""
    rt = open_runtime(tmp_path / "data", db_url, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    yield rt, make_world(rt)
    rt.close()


def other_desk(rt, username: str, desk: str, case_id: int, action: Action, data: dict) -> str:
    done = subprocess.run(
        [
            sys.executable,
            str(OTHER_DESK),
            str(rt.data_dir),
            rt.url,
            username,
            desk,
            str(case_id),
            action.value,
            json.dumps(data, ensure_ascii=False),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_routed_case_reaches_the_station_desk_without_refresh(qtbot, shared, settings):
    rt, world = shared
    item = world.township_item(station="minzheng")
    ref = make_case(rt, world, CaseState.ACCEPTED, item=item)
    station = world.stations["minzheng"]
    queue = QueueWidget(
        UiContext(rt, accounts.Session(station, False, 10, rt.now()), settings), poll_ms=50
    )
    qtbot.addWidget(queue)
    queue.show()  # on screen, as at the station's desk
    qtbot.waitExposed(queue)
    assert queue.model.total == 0
    assert other_desk(rt, "window1", "A1", ref.id, Action.ROUTE, {}).startswith("in_review")
    qtbot.waitUntil(lambda: queue.model.total == 1, timeout=5000)
    assert queue.model.case_id(0) == ref.id


def test_a_save_from_a_stale_view_is_refused(shared):
    rt, world = shared
    item = world.township_item(station="minzheng")
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    station = world.stations["minzheng"]
    seen = get_case(rt, station, ref.id)
    other_desk(rt, "st_minzheng", "S1", ref.id, Action.APPROVE, {"opinion": "同意办理"})
    with pytest.raises(StaleError) as err:
        cases.act(
            rt,
            station,
            ref.id,
            Action.DENY,
            {"opinion": "不同意", "basis": "依据"},
            expected_version=seen.version,
        )
    assert "已被他人更新" in err.value.message and "已办结待出件" in err.value.message
    assert get_case(rt, station, ref.id).decision == "approved"
    assert station.township == TOWNSHIP
