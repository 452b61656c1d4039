"""The public progress page: steps and dates, nothing personal, no oracle, rate-limited."""

from __future__ import annotations

import re

import pytest
from county_helpers import (
    ADDRESS,
    APPLICANT_ID,
    APPLICANT_NAME,
    APPLICANT_PHONE,
    PROXY_ID,
    PROXY_NAME,
    PROXY_PHONE,
    package,
)

from app.domain.masking import find_unmasked_ids
from sync.server.ratelimit import RateLimiter

CASE_NO = "370999101-A1-20261116-0001"
CODE = "K7M3Q9"
PERSONAL = (
    APPLICANT_NAME,
    APPLICANT_ID,
    APPLICANT_PHONE,
    ADDRESS,
    PROXY_NAME,
    PROXY_ID,
    PROXY_PHONE,
)


def event(client, creds, case_uuid, kind, data):
    body = {"case_uuid": case_uuid, "kind": kind, "data": data}
    assert client.post("/api/v1/events", json=body, headers=creds.w).status_code == 201


def full_journey(client, creds, clock, *, mail: bool = True) -> dict:
    data = package()
    client.post("/api/v1/packages", json=data, headers=creds.t)
    case = data["case_uuid"]
    clock.advance(days=1)
    event(client, creds, case, "signed", {"on": "2026-11-17"})
    missing = [{"name": "残疾人证", "reason": f"{APPLICANT_NAME}的照片页不清晰"}]
    event(client, creds, case, "correction", {"missing": missing, "due_date": "2026-11-25"})
    clock.advance(days=2)
    supplement = {**data, "revision": 2, "action": "supplement"}
    assert client.post("/api/v1/packages", json=supplement, headers=creds.t).status_code == 201
    clock.advance(days=1)
    opinion = f"申请人{APPLICANT_NAME}（{APPLICANT_ID}）符合条件"
    event(
        client,
        creds,
        case,
        "decided",
        {"decision": "approved", "opinion": opinion, "on": "2026-11-20"},
    )
    dispatch = (
        {"method": "mail", "carrier": "中国邮政EMS", "tracking_no": "EA123456789CN"}
        if mail
        else {"method": "township_pickup"}
    )
    event(client, creds, case, "dispatched", {**dispatch, "on": "2026-11-20"})
    clock.advance(days=3)
    event(client, creds, case, "closed", {"on": "2026-11-23", "note": f"{APPLICANT_NAME}已领取"})
    return data


def lookup(client, no=CASE_NO, code=CODE):
    return client.get("/progress", params={"no": no, "code": code})


def test_steps_and_dates_are_shown(client, creds, clock):
    full_journey(client, creds, clock)
    response = lookup(client)
    assert response.status_code == 200
    page = response.text
    steps = ["已移交县级", "县级已签收", "需补正", "已补正材料", "已办结", "结果已寄出", "办结"]
    positions = [page.index(f"<b>{step}</b>") for step in steps]
    assert positions == sorted(positions)
    for day in ("2026-11-16", "2026-11-17", "2026-11-19", "2026-11-20", "2026-11-23"):
        assert day in page
    assert "需补正材料1项，请于2026-11-25前" in page and "运单尾号 89CN" in page
    assert (
        "残疾人两项补贴申请" in page and "青禾镇" in page and '<p class="status">办结</p>' in page
    )


def test_township_pickup_is_shown_as_such(client, creds, clock):
    full_journey(client, creds, clock, mail=False)
    assert "待乡镇领取" in lookup(client).text


def test_the_page_leaks_nothing_personal(client, creds, clock):
    full_journey(client, creds, clock)
    page = lookup(client).text
    assert find_unmasked_ids(page) == []
    for secret in PERSONAL:
        assert secret not in page
    assert "EA123456789CN" not in page  # only the tail of the tracking number


def test_wrong_code_answers_exactly_like_an_unknown_case(client, creds, clock):
    full_journey(client, creds, clock)
    wrong = lookup(client, code="K7M3QA")
    unknown = lookup(client, no="370999101-A1-20261116-0099")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.content == unknown.content
    assert "未查询到办件" in wrong.text
    assert CASE_NO not in wrong.text


def test_code_may_be_typed_in_lower_case(client, creds, clock):
    full_journey(client, creds, clock)
    assert lookup(client, code=CODE.lower()).status_code == 200


def test_the_form_is_shown_without_parameters(client):
    response = client.get("/progress")
    assert response.status_code == 200
    assert (
        '<form method="get" action="/progress"' in response.text and 'name="code"' in response.text
    )
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("no", "code", "says"),
    [
        ("abc", CODE, "格式不正确"),
        (CASE_NO, "123", "格式不正确"),
        (CASE_NO, None, "请输入查询码"),
        ("", " ", "请输入办件编号和查询码"),
    ],
)
def test_malformed_input_is_400_and_independent_of_the_database(
    client, creds, clock, no, code, says
):
    params = {"no": no} | ({"code": code} if code else {})
    response = client.get("/progress", params=params)
    assert response.status_code == 400 and says in response.text


def test_the_page_is_self_contained_and_locked_down(client, creds, clock):
    full_journey(client, creds, clock)
    response = lookup(client)
    page = response.text.lower()
    for outside in ("http://", "https://", "<script", "<link", "<img", "@import", "url("):
        assert outside not in page
    assert 'name="viewport"' in page and 'lang="zh-cn"' in page
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"


def test_text_from_packages_is_escaped(client, creds):
    data = package(item_name='<script>alert("x")</script>')
    client.post("/api/v1/packages", json=data, headers=creds.t)
    page = lookup(client).text
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_lookups_are_rate_limited_per_address(county, client, creds, clock):
    full_journey(client, creds, clock)
    county.progress_limiter = RateLimiter(3, 60)
    client.get("/progress")  # the empty form does not count
    answers = [lookup(client, code=c).status_code for c in ("AAAAAA", "BBBBBB", CODE, CODE)]
    assert answers == [404, 404, 200, 429]
    limited = lookup(client)
    assert limited.status_code == 429 and "查询过于频繁" in limited.text
    assert limited.headers["retry-after"] == "60"
    assert client.get("/progress").status_code == 200


def test_steps_within_one_second_keep_the_order_they_happened_in(client, creds, clock):
    """Times are whole seconds: a supplement in the same second as the correction before it
    must still come after it (the case's status decides, not the table it is stored in)."""
    data = package()
    client.post("/api/v1/packages", json=data, headers=creds.t)
    case = data["case_uuid"]
    event(client, creds, case, "signed", {"on": "2026-11-16"})
    missing = [{"name": "残疾人证", "reason": "照片页不清晰"}]
    event(client, creds, case, "correction", {"missing": missing, "due_date": "2026-11-25"})
    supplement = {**data, "revision": 2, "action": "supplement"}
    assert client.post("/api/v1/packages", json=supplement, headers=creds.t).status_code == 201
    event(client, creds, case, "correction", {"missing": missing, "due_date": "2026-11-25"})
    page = lookup(client).text
    steps = ["已移交县级", "县级已签收", "需补正", "已补正材料", "需补正"]
    assert re.findall(r"<b>([^<]+)</b>", page) == steps
