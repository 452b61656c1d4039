"""The case queue: paged model, deadline colours, search, live refresh from other desks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

import pytest
from helpers.factories import drive, intake, make_case, person
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.domain.calendar import DeadlineStatus
from app.domain.case import Action
from app.domain.states import CaseState
from app.services import case_view
from app.ui.widgets.queue import (
    CASE_ID_ROLE,
    COL_DEADLINE,
    PAGE,
    STATUS_COLOURS,
    CaseQueueModel,
    QueueWidget,
)


def _widget(qtbot, ctx) -> QueueWidget:
    # A poll interval far beyond the test: the tests fire the timer themselves.
    widget = QueueWidget(ctx, poll_ms=3_600_000)
    qtbot.addWidget(widget)
    widget.show()  # a hidden queue does not poll
    qtbot.waitExposed(widget)
    return widget


def test_model_loads_one_page_and_fetches_more_on_demand(qtbot, rt, world, make_ctx):
    item = world.township_item()
    for _ in range(250):
        intake(rt, world, item)
    model = CaseQueueModel(make_ctx(world.window))
    model.reload()
    assert model.total == 250
    assert model.rowCount() == PAGE == 100
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 200
    model.fetchMore()
    assert model.rowCount() == 250
    assert not model.canFetchMore()
    ids = {model.data(model.index(r, 0), CASE_ID_ROLE) for r in range(250)}
    assert len(ids) == 250


def test_view_fetches_the_next_page_when_scrolled_to_the_end(qtbot, rt, world, make_ctx):
    item = world.township_item()
    for _ in range(150):
        intake(rt, world, item)
    widget = _widget(qtbot, make_ctx(world.window))
    widget.resize(900, 400)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.count_label.text() == "共 150 件"
    assert widget.model.rowCount() == 100
    bar = widget.table.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: widget.model.rowCount() == 150)


def _colours(model: CaseQueueModel, case_id: int) -> tuple[object, object, str]:
    row = model.row_of(case_id)
    assert row is not None
    index = model.index(row, COL_DEADLINE)
    return (
        model.data(index, Qt.ItemDataRole.BackgroundRole),
        model.data(index, Qt.ItemDataRole.ForegroundRole),
        model.data(index, Qt.ItemDataRole.DisplayRole),
    )


@pytest.mark.parametrize(
    ("shift", "status"),
    [(None, DeadlineStatus.GREEN), (0, DeadlineStatus.YELLOW), (1, DeadlineStatus.RED)],
)
def test_deadline_cell_is_coloured_by_status(rt, world, make_ctx, clock, shift, status):
    item = world.township_item("jisheng", immediate=False)
    ref = make_case(rt, world, CaseState.ACCEPTED, item=item)
    waiting = make_case(rt, world, CaseState.RECEIVED, item=item)
    deadline = case_view.get_case(rt, world.window, ref.id).deadline
    assert deadline is not None
    if shift is not None:
        clock.value = datetime.combine(deadline + timedelta(days=shift), time(9))
    model = CaseQueueModel(make_ctx(world.window))
    model.reload()
    background, foreground, text = _colours(model, ref.id)
    assert background == QColor(STATUS_COLOURS[status][0])
    assert foreground == QColor(STATUS_COLOURS[status][1])
    assert text.startswith(deadline.isoformat()) and text.endswith(status.label)
    # A case not yet accepted has no deadline and no colour.
    assert _colours(model, waiting.id) == (None, None, "")


def _search(qtbot, widget: QueueWidget, text: str) -> list[int]:
    widget.search_edit.clear()
    if text.isascii():
        qtbot.keyClicks(widget.search_edit, text)
    else:
        widget.search_edit.insert(text)  # what an input method delivers; QTest types ASCII only
    qtbot.keyClick(widget.search_edit, Qt.Key.Key_Return)
    model = widget.model
    return [model.case_id(r) for r in range(model.rowCount())]


def test_search_by_case_number_name_and_number_tails(qtbot, rt, world, make_ctx):
    item = world.township_item()
    who = replace(person(), name="欧阳秀英")
    target = intake(rt, world, item, who=who)
    others = [intake(rt, world, item).id for _ in range(3)]
    widget = _widget(qtbot, make_ctx(world.window))
    assert widget.count_label.text() == "共 4 件"
    assert _search(qtbot, widget, target.case_no) == [target.id]
    assert _search(qtbot, widget, "欧阳") == [target.id]
    assert _search(qtbot, widget, who.id_number[-4:]) == [target.id]
    assert _search(qtbot, widget, who.phone[-4:]) == [target.id]
    assert _search(qtbot, widget, who.id_number) == [target.id]
    assert _search(qtbot, widget, who.phone) == [target.id]
    assert widget.count_label.text() == "共 1 件"
    # Enter in the search box moves to the result, ready for Enter to open it.
    assert widget.focusWidget() is widget.table
    assert widget.selected_case_id() == target.id
    assert _search(qtbot, widget, "查无此人") == []
    assert widget.count_label.text() == "共 0 件"
    assert sorted(_search(qtbot, widget, "")) == sorted([target.id, *others])


def test_state_filter_shows_other_states(qtbot, rt, world, make_ctx):
    received = make_case(rt, world, CaseState.RECEIVED)
    refused = make_case(rt, world, CaseState.REFUSED)
    widget = _widget(qtbot, make_ctx(world.window))
    assert [widget.model.case_id(r) for r in range(widget.model.rowCount())] == [received.id]
    widget.state_combo.setCurrentIndex(widget.state_combo.findData(CaseState.REFUSED.value))
    assert [widget.model.case_id(r) for r in range(widget.model.rowCount())] == [refused.id]
    widget.state_combo.setCurrentIndex(widget.state_combo.findText("全部办件"))
    assert widget.model.total == 2


def test_live_refresh_shows_another_desks_change_and_keeps_the_selection(
    qtbot, rt, world, make_ctx, clock
):
    item = world.township_item("jisheng", immediate=False)
    station = world.stations["jisheng"]
    first = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    widget = _widget(qtbot, make_ctx(station))
    assert widget.model.rowCount() == 1
    widget.table.selectRow(0)
    assert widget.selected_case_id() == first.id
    with qtbot.assertNotEmitted(widget.model.modelReset):
        widget.poll_timer.timeout.emit()  # nothing changed: no reload
    # Another desk: the window routes a second case to this station.
    accepted = make_case(rt, world, CaseState.ACCEPTED, item=item)
    clock.advance(minutes=1)
    drive(rt, world, accepted, world.window, Action.ROUTE)
    with qtbot.waitSignal(widget.refreshed):
        widget.poll_timer.timeout.emit()
    shown = {widget.model.case_id(r) for r in range(widget.model.rowCount())}
    assert shown == {first.id, accepted.id}
    assert widget.count_label.text() == "共 2 件"
    assert widget.selected_case_id() == first.id


def test_station_queue_never_lists_other_stations_cases(qtbot, rt, world, make_ctx):
    mine = make_case(rt, world, CaseState.IN_REVIEW, item=world.township_item("jisheng"))
    make_case(rt, world, CaseState.IN_REVIEW, item=world.township_item("minzheng"))
    widget = _widget(qtbot, make_ctx(world.stations["jisheng"]))
    widget.state_combo.setCurrentIndex(widget.state_combo.findText("全部办件"))
    assert [widget.model.case_id(r) for r in range(widget.model.rowCount())] == [mine.id]


def test_a_hidden_queue_does_not_poll_and_catches_up_when_shown(qtbot, rt, world, make_ctx, clock):
    item = world.township_item("jisheng", immediate=False)
    station = world.stations["jisheng"]
    widget = _widget(qtbot, make_ctx(station))
    widget.hide()
    make_case(rt, world, CaseState.IN_REVIEW, item=item)
    clock.advance(minutes=1)
    widget.poll()
    assert widget.model.rowCount() == 0  # hidden: no query, no reload
    widget.show()
    qtbot.waitUntil(lambda: widget.model.rowCount() == 1)


def test_a_case_waiting_for_corrections_shows_its_clock_stopped(qtbot, rt, world, make_ctx):
    from helpers.factories import correction_data

    from app.ui.widgets.queue import COL_DEADLINE

    item = world.township_item("jisheng", immediate=False)
    station = world.stations["jisheng"]
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    drive(rt, world, ref, station, Action.REQUEST_CORRECTION, correction_data(item, rt.today()))
    widget = _widget(qtbot, make_ctx(world.window))
    widget.model.set_query(states=(CaseState.CORRECTION_REQUIRED,))
    row = widget.model.row_of(ref.id)
    assert row is not None
    index = widget.model.index(row, COL_DEADLINE)
    assert widget.model.data(index, Qt.ItemDataRole.DisplayRole).endswith("补正暂停计时")
    assert widget.model.data(index, Qt.ItemDataRole.BackgroundRole) is None
