"""County events: a gapless ordered feed per township, moves checked, the county inbox."""

from __future__ import annotations

import pytest
from county_helpers import OTHER, package

from sync.server.store import CountyEventRecord, CountyTownshipRecord

SIGNED = {"kind": "signed", "data": {"on": "2026-11-16"}}
CORRECTION = {
    "kind": "correction",
    "data": {"missing": [{"name": "残疾人证", "reason": "照片页不清晰"}], "due_date": "2026-11-30"},
}
DECIDED = {
    "kind": "decided",
    "data": {"decision": "approved", "opinion": "符合条件，予以批准", "on": "2026-11-16"},
}
MAILED = {
    "kind": "dispatched",
    "data": {
        "method": "mail",
        "carrier": "中国邮政EMS",
        "tracking_no": "EA123456789CN",
        "on": "2026-11-16",
    },
}
CLOSED = {"kind": "closed", "data": {"on": "2026-11-16"}}


def hand_off(client, headers, township: str = "370999101", serial: int = 1) -> str:
    data = package(township, serial)
    assert client.post("/api/v1/packages", json=data, headers=headers).status_code == 201
    return str(data["case_uuid"])


def post(client, creds, case_uuid: str, event: dict):
    return client.post("/api/v1/events", json={"case_uuid": case_uuid, **event}, headers=creds.w)


def feed(client, headers, after: int = 0, limit: int = 100) -> dict:
    response = client.get(f"/api/v1/events?after={after}&limit={limit}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_case_moves_through_every_event_in_order(client, creds):
    case = hand_off(client, creds.t)
    for event in (SIGNED, DECIDED, MAILED, CLOSED):
        response = post(client, creds, case, event)
        assert response.status_code == 201, response.text
    page = feed(client, creds.t)
    assert [(e["seq"], e["kind"]) for e in page["events"]] == [
        (1, "signed"),
        (2, "decided"),
        (3, "dispatched"),
        (4, "closed"),
    ]
    assert page["events"][2]["data"]["tracking_no"] == "EA123456789CN"
    assert page["events"][0]["at"] == "2026-11-16T09:30:00"
    assert (page["next_cursor"], page["has_more"]) == (4, False)


def test_paging_with_the_cursor(client, creds):
    cases = [hand_off(client, creds.t, serial=n) for n in range(1, 6)]
    for case in cases:
        post(client, creds, case, SIGNED)
    first = feed(client, creds.t, after=0, limit=2)
    assert [e["seq"] for e in first["events"]] == [1, 2] and first["has_more"] is True
    second = feed(client, creds.t, after=first["next_cursor"], limit=2)
    assert [e["seq"] for e in second["events"]] == [3, 4]
    last = feed(client, creds.t, after=second["next_cursor"], limit=2)
    assert [e["seq"] for e in last["events"]] == [5] and last["has_more"] is False
    empty = feed(client, creds.t, after=last["next_cursor"])
    assert empty == {"events": [], "next_cursor": 5, "has_more": False}
    assert [e["case_uuid"] for e in first["events"] + second["events"]] == cases[:4]


def test_each_township_sees_only_its_own_feed_numbered_from_one(client, creds):
    mine = hand_off(client, creds.t)
    theirs = hand_off(client, creds.o, township=OTHER)
    post(client, creds, mine, SIGNED)
    post(client, creds, mine, DECIDED)
    post(client, creds, theirs, SIGNED)
    assert [e["case_uuid"] for e in feed(client, creds.t)["events"]] == [mine, mine]
    other = feed(client, creds.o)["events"]
    assert [(e["seq"], e["case_uuid"]) for e in other] == [(1, theirs)]


@pytest.mark.parametrize(
    ("events", "bad", "label"),
    [
        ((), DECIDED, "待签收"),
        ((SIGNED,), SIGNED, "已签收"),
        ((SIGNED,), MAILED, "已签收"),
        ((SIGNED, CORRECTION), DECIDED, "待乡镇补正"),
        ((SIGNED, DECIDED), CORRECTION, "已办结待送达"),
    ],
)
def test_an_event_out_of_order_is_409_and_takes_no_number(
    county, client, creds, events, bad, label
):
    case = hand_off(client, creds.t)
    for event in events:
        assert post(client, creds, case, event).status_code == 201
    response = post(client, creds, case, bad)
    assert response.status_code == 409
    assert response.json()["code"] == "state_conflict" and label in response.json()["detail"]
    with county.db.connection_context():
        assert CountyEventRecord.select().count() == len(events)
        assert CountyTownshipRecord.get(CountyTownshipRecord.code == "370999101").event_seq == len(
            events
        )


def test_unknown_case_is_404(client, creds):
    response = post(client, creds, "0b7f6c1e-7a3c-4a8e-9d55-3f1f7b0c2a11", SIGNED)
    assert response.status_code == 404 and response.json()["detail"] == "办件不存在"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"kind": "signed", "data": {"on": "2026-11-17"}}, "日期不能晚于今天"),
        (
            {"kind": "correction", "data": {**CORRECTION["data"], "due_date": "2026-11-15"}},
            "补正期限不能早于今天",
        ),
    ],
)
def test_dates_are_checked_against_today(client, creds, event, message):
    case = hand_off(client, creds.t)
    if event["kind"] == "correction":
        post(client, creds, case, SIGNED)
    response = post(client, creds, case, event)
    assert response.status_code == 422 and response.json()["detail"] == message


@pytest.mark.parametrize(
    ("query", "fragment"),
    [("after=-1", "查询参数·游标：不能小于0"), ("limit=0", "查询参数·条数：不能小于1"),
     ("limit=abc", "查询参数·条数：应为整数")],
)  # fmt: skip
def test_bad_cursor_is_422_in_chinese(client, creds, query, fragment):
    response = client.get(f"/api/v1/events?{query}", headers=creds.t)
    assert response.status_code == 422 and fragment in response.json()["detail"]


def test_townships_cannot_post_events(client, creds):
    case = hand_off(client, creds.t)
    response = client.post("/api/v1/events", json={"case_uuid": case, **SIGNED}, headers=creds.t)
    assert response.status_code == 401


def test_inbox_filters_detail_and_statistics(client, creds, clock):
    first = hand_off(client, creds.t, serial=1)
    hand_off(client, creds.t, serial=2)
    theirs = hand_off(client, creds.o, township=OTHER)
    post(client, creds, first, SIGNED)
    inbox = client.get("/api/v1/county/cases", headers=creds.w).json()
    assert inbox["total"] == 3
    assert {c["township_name"] for c in inbox["cases"]} == {"青禾镇", "白杨镇"}
    only = client.get(
        "/api/v1/county/cases?township=370999101&status=signed", headers=creds.w
    ).json()
    assert [c["case_uuid"] for c in only["cases"]] == [first]
    assert only["cases"][0]["status_label"] == "已签收"
    assert (
        client.get(f"/api/v1/county/cases?township={OTHER}", headers=creds.w).json()["cases"][0][
            "case_uuid"
        ]
        == theirs
    )
    detail = client.get(f"/api/v1/county/cases/{first}", headers=creds.w).json()
    assert [e["kind"] for e in detail["events"]] == ["signed"]
    clock.advance(days=30)
    stats = {s["township"]: s for s in client.get("/api/v1/county/stats", headers=creds.w).json()}
    assert stats["370999101"]["total"] == 2 and stats["370999101"]["overdue"] == 2
    assert stats["370999101"]["by_status"] == {"handed_off": 1, "signed": 1}
    assert stats[OTHER]["total"] == 1
