"""The public progress page in a real browser: headless Chromium against the county server process.

A township hands a case off and county staff record its steps over HTTP; then Chromium loads
the page as a citizen's phone would. It must show the steps in order with their dates, its
form must ask for what is missing, a wrong code must read exactly like an unknown case, and
nothing personal may reach the browser, in the page or in anything the page loads.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from county_helpers import (
    ADDRESS,
    APPLICANT_ID,
    APPLICANT_NAME,
    APPLICANT_PHONE,
    PROXY_ID,
    PROXY_NAME,
    PROXY_PHONE,
    TOWNSHIP,
    bearer,
    package,
)
from county_live import LiveCounty

from app.domain.masking import find_unmasked_ids, mask_address, mask_id, mask_name, mask_phone

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (installer/setup.sh installs it)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
)
PHONE = (390, 844)
BROWSER_TIMEOUT = 60.0
CODE = "K7M3Q9"
TRACKING_NO = "EA123456789CN"
PERSONAL = (APPLICANT_NAME, APPLICANT_ID, APPLICANT_PHONE, ADDRESS, PROXY_NAME, PROXY_ID,
            PROXY_PHONE)  # fmt: skip
# The page shows no personal data at all (DESIGN: "no personal data shown"), so not even the
# masked forms the staff screens use, nor the pieces they keep.
MASKED = (
    *(mask_name(n) for n in (APPLICANT_NAME, PROXY_NAME)),
    *(mask_id(i) for i in (APPLICANT_ID, PROXY_ID)),
    *(mask_phone(p) for p in (APPLICANT_PHONE, PROXY_PHONE)),
    mask_address(ADDRESS),
    APPLICANT_NAME[:2],
    APPLICANT_NAME[2:],
    "幸福路",
    TRACKING_NO[:-4],
)
STEPS = ["已移交县级", "县级已签收", "需补正", "已补正材料", "已办结", "结果已寄出"]


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the browser and its helper processes: the process group its PID leads."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=15)


def chromium(profile: Path, *args: str) -> str:
    """One headless Chromium run (--dump-dom, --screenshot …); its standard output."""
    assert CHROMIUM is not None
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=BROWSER_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_group(proc)
        pytest.fail(f"Chromium did not finish within {BROWSER_TIMEOUT:.0f} s: {args}")
    assert proc.returncode == 0, f"Chromium exited with {proc.returncode}"
    return out.decode("utf-8")


def _high_fd(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class DevTools:
    """Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON),
    in one tab emulating a phone; every network answer the tab receives is kept."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        to_browser, self._commands = os.pipe()
        self._answers, from_browser = os.pipe()
        # Above fd 4, so that moving one to fd 3 or 4 cannot overwrite the other.
        to_browser, from_browser = (_high_fd(fd) for fd in (to_browser, from_browser))
        # A Python trampoline puts the pipe ends on fds 3 and 4, then becomes the browser.
        trampoline = (
            f"import os,sys; os.dup2({to_browser},3); os.dup2({from_browser},4); "
            "os.execv(sys.argv[1], sys.argv[1:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", trampoline, CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            pass_fds=(to_browser, from_browser), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._last_id = 0
        self.events: list[dict[str, Any]] = []
        self.bodies: list[tuple[str, str]] = []
        self.session = ""
        try:
            self._open_phone_tab()
        except BaseException:
            self.close()
            raise

    def _open_phone_tab(self) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        for domain in ("Page.enable", "Network.enable"):
            self.call(domain, session=True)
        width, height = PHONE
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width,
                  height=height, deviceScaleFactor=3, mobile=True)  # fmt: skip

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail("Chromium did not answer over DevTools in time")
            if select.select([self._answers], [], [], left)[0]:
                chunk = os.read(self._answers, 1 << 20)
                if not chunk:
                    pytest.fail("Chromium closed its DevTools pipe")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def call(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        self._last_id += 1
        command: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if session:
            command["sessionId"] = self.session
        os.write(self._commands, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while (message := self._message(deadline)).get("id") != self._last_id:
            self.events.append(message)
        assert "error" not in message, message
        result: dict[str, Any] = message["result"]
        return result

    def wait_for(self, method: str) -> None:
        """Until the tab reports `method` (taken off the list, so each is waited for once)."""
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while True:
            for number, event in enumerate(self.events):
                if event.get("method") == method:
                    del self.events[number]
                    return
            self.events.append(self._message(deadline))

    def goto(self, url: str) -> None:
        self.call("Page.navigate", session=True, url=url)
        self.loaded()

    def loaded(self) -> None:
        """Wait for the page's load event, then keep the body of everything it loaded
        (a page's bodies are gone once the tab moves on)."""
        self.wait_for("Page.loadEventFired")
        for event in list(self.events):
            if event.get("method") == "Network.responseReceived":
                found = self.call("Network.getResponseBody", session=True,
                                  requestId=event["params"]["requestId"])  # fmt: skip
                url = event["params"]["response"]["url"]
                assert not found["base64Encoded"], url
                self.bodies.append((url, found["body"]))
                self.events.remove(event)

    def js(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)  # fmt: skip
        assert "exceptionDetails" not in answer, answer
        return answer["result"].get("value")

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]  # fmt: skip

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=15)
        except (subprocess.TimeoutExpired, pytest.fail.Exception, OSError):
            pass
        finally:
            stop_group(self.proc)
            os.close(self._commands)
            os.close(self._answers)


@dataclass
class Journey:
    county: LiveCounty
    case_no: str
    handed_off: date
    today: date

    def url(self, **params: str) -> str:
        return f"{self.county.url}/progress" + (f"?{urlencode(params)}" if params else "")

    @property
    def page(self) -> str:
        return self.url(no=self.case_no, code=CODE)


@pytest.fixture
def journey(tmp_path: Path, county_db_url: str) -> Iterator[Journey]:
    """A case handed off three days ago, signed, corrected, supplemented, decided and mailed."""
    county = LiveCounty(tmp_path, county_db_url)
    county.start()
    try:
        today = date.today()  # the county server runs on the real clock
        handed = today - timedelta(days=3)
        on, deadline = handed.isoformat(), (handed + timedelta(days=14)).isoformat()
        case_no = f"{TOWNSHIP}-A1-{handed:%Y%m%d}-0001"
        data = package(case_no=case_no, accepted_on=on, handed_off_on=on, deadline=deadline)
        township = bearer(county.township)
        post = f"{county.url}/api/v1/packages"
        assert requests.post(post, json=data, headers=township, timeout=10).status_code == 201
        case = data["case_uuid"]
        county.event(case, "signed", {"on": (today - timedelta(days=2)).isoformat()})
        missing = [{"name": "残疾人证", "reason": f"{APPLICANT_NAME}的照片页不清晰"}]
        due = (today + timedelta(days=7)).isoformat()
        county.event(case, "correction", {"missing": missing, "due_date": due})
        supplement = {**data, "revision": 2, "action": "supplement"}
        assert requests.post(post, json=supplement, headers=township, timeout=10).ok
        opinion = (
            f"申请人{APPLICANT_NAME}（{APPLICANT_ID}，{APPLICANT_PHONE}）住{ADDRESS}，符合条件"
        )
        county.event(case, "decided", {"decision": "approved", "opinion": opinion,
                                       "on": today.isoformat()})  # fmt: skip
        mailed = {"method": "mail", "carrier": "中国邮政EMS", "tracking_no": TRACKING_NO}
        county.event(case, "dispatched", {**mailed, "on": today.isoformat()})
        yield Journey(county, data["case_no"], handed, today)
    finally:
        county.stop()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def assert_nothing_personal(where: str) -> None:
    assert find_unmasked_ids(where) == []
    for secret in (*PERSONAL, *MASKED):
        assert secret not in where
    assert "**" not in where


@needs_chromium
def test_steps_render_in_order_on_a_phone(journey: Journey, tmp_path: Path):
    dom = chromium(tmp_path / "profile-dom", "--dump-dom", journey.page)
    steps = re.findall(r'<li><span class="date">([0-9-]+)</span><b>([^<]+)</b>', dom)
    assert [label for _, label in steps] == STEPS
    dates = [date.fromisoformat(on) for on, _ in steps]
    today = journey.today
    assert dates == sorted(dates) and dates[:2] == [journey.handed_off, today - timedelta(days=2)]
    assert set(dates[2:]) <= {today, today + timedelta(days=1)}  # the server's today, at midnight
    assert '<html lang="zh-CN">' in dom and "<title>办件进度</title>" in dom
    assert '<p class="status">结果已送出</p>' in dom and "运单尾号 89CN" in dom
    due = (today + timedelta(days=7)).isoformat()
    assert f"需补正材料1项，请于{due}前到受理乡镇窗口补交" in dom
    assert journey.case_no in dom and "残疾人两项补贴申请" in dom and "青禾镇" in dom
    assert_nothing_personal(dom)

    shot = tmp_path / "progress-phone.png"
    chromium(tmp_path / "profile-shot", f"--screenshot={shot}",
             f"--window-size={PHONE[0]},{PHONE[1]}", "--hide-scrollbars", journey.page)  # fmt: skip
    assert png_size(shot) == PHONE


def form_asks_for_what_is_missing(browser: DevTools, journey: Journey) -> None:
    browser.goto(journey.url())
    labels = browser.js("[...document.querySelectorAll('label')].map(l => l.innerText)")
    assert [label.strip() for label in labels] == ["办件编号", "查询码"]
    empty = "[...document.querySelectorAll('input')].filter(i => i.validity.valueMissing)"
    submit = "document.querySelector('button[type=submit]').click()"
    browser.js(submit)
    assert browser.js(f"{empty}.map(i => i.name)") == ["no", "code"]
    browser.js(f"document.querySelector('[name=no]').value = '{journey.case_no}'; {submit}")
    assert browser.js(f"{empty}.map(i => i.name)") == ["code"]
    browser.js(f"document.querySelector('[name=code]').value = '{CODE.lower()}'; {submit}")
    browser.loaded()
    assert browser.js("document.querySelector('.status').innerText") == "结果已送出"
    # The two refused submits never left the browser: one request for the form, one answer.
    pages = [url for url in browser.requested() if "/progress" in url]
    assert pages == [journey.url(), journey.url(no=journey.case_no, code=CODE.lower())]
    # A browser that does not check the form sends the empty fields: the page asks for both.
    browser.goto(journey.url(no="", code=""))
    notice = browser.js("document.querySelector('.notice').innerText")
    assert notice == "请输入办件编号和查询码（印在收件回执上）。"


def fits_the_phone(browser: DevTools) -> None:
    """Nothing wider than the screen, no text smaller than 13 CSS pixels."""
    layout = browser.js(
        "({overflow: document.documentElement.scrollWidth - innerWidth, width: innerWidth,"
        " smallest: Math.min(...[...document.querySelectorAll('body *')]"
        ".map(e => parseFloat(getComputedStyle(e).fontSize)))})"
    )
    assert layout["width"] == PHONE[0] and layout["overflow"] <= 0
    assert layout["smallest"] >= 13


@needs_chromium
def test_a_citizen_looks_a_case_up_on_a_phone(journey: Journey, tmp_path: Path):
    """The form asks for what is missing, a wrong code reads exactly like an unknown case,
    and nothing personal is in the pages or in anything else the browser loaded."""
    browser = DevTools(tmp_path / "profile")
    try:
        form_asks_for_what_is_missing(browser, journey)
        fits_the_phone(browser)
        browser.goto(journey.page)
        fits_the_phone(browser)
        shown = browser.js("document.documentElement.outerHTML")
        text = browser.js("document.body.innerText")
        answers = []
        for no, code in ((journey.case_no, "K7M3QA"), (journey.case_no[:-4] + "9999", CODE)):
            browser.goto(journey.url(no=no, code=code))
            answers.append(browser.js("document.documentElement.outerHTML"))
    finally:
        browser.close()
    assert answers[0] == answers[1] and "未查询到办件，请核对办件编号和查询码" in answers[0]
    assert journey.case_no not in answers[0] and "<ol" not in answers[0]
    assert "结果已送出" in text and "已办结" in text and journey.case_no in shown
    urls = {url for url, _ in browser.bodies}
    assert journey.page in urls and all(url.startswith(journey.county.url) for url in urls)
    for where in (shown, text, *answers, *(body for _, body in browser.bodies)):
        assert_nothing_personal(where)
