"""One sync cycle (send the outbox, then apply the county's events) and the loop around it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync.client.events import PullReport, pull_events
from sync.client.http import BadCredential, CountyClient, SyncError
from sync.client.outbox import RunReport, run_once

if TYPE_CHECKING:
    from app.services.runtime import Runtime

log = logging.getLogger(__name__)
CYCLE_SECONDS = 30.0


@dataclass(frozen=True)
class CycleReport:
    sent: RunReport
    events: PullReport | None
    error: str = ""


def run_cycle(rt: Runtime, client: CountyClient) -> CycleReport:
    """Send what is due, then fetch events; a network failure ends the cycle, not the worker."""
    sent = run_once(rt, client)
    try:
        events = pull_events(rt, client)
    except BadCredential:
        raise
    except SyncError as exc:
        return CycleReport(sent, None, exc.message)
    return CycleReport(sent, events)


def run_forever(
    rt: Runtime,
    client: CountyClient,
    stop: threading.Event,
    *,
    interval: float = CYCLE_SECONDS,
    on_cycle: Callable[[CycleReport], None] | None = None,
) -> None:
    """Cycle until `stop` is set (the client's background thread, `sync run`).

    A wrong credential stops the loop: resending cannot fix it, a person must."""
    while not stop.is_set():
        try:
            report = run_cycle(rt, client)
        except BadCredential:
            raise
        except SyncError as exc:
            report = CycleReport(RunReport(), None, exc.message)
        if on_cycle is not None:
            on_cycle(report)
        stop.wait(interval)


def start_thread(rt: Runtime, client: CountyClient) -> tuple[threading.Thread, threading.Event]:
    """The worker in a daemon thread for the desktop client; set the event to stop it."""
    stop = threading.Event()

    def target() -> None:
        try:
            run_forever(rt, client, stop)
        except BadCredential as exc:
            log.error("county sync stopped: %s", exc.message)
        finally:
            if not rt.db.is_closed():
                rt.db.close()  # this thread's connection (peewee keeps one per thread)

    thread = threading.Thread(target=target, name="county-sync", daemon=True)
    thread.start()
    return thread, stop
