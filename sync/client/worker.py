"""One sync cycle (send the outbox, apply the county's events, take a new catalog or holiday
calendar) and the loop around it, in a thread of the desktop client or in `sync run`.

With a `SendLease`, a cycle first takes the lease: a desk that does not hold it does nothing
but report who does. The worker's client checks the stop flag and renews the lease before
every request, so a logout or another desk taking over ends a long pass at the next request
without recording anything on the row being sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import peewee as pw

from sync.client.config import SyncConfig
from sync.client.distribution import DistributionReport, pull_distribution
from sync.client.events import PullReport, pull_events
from sync.client.http import READ_TIMEOUT, BadCredential, CountyClient, SyncError
from sync.client.lease import LeaseLost, SendLease
from sync.client.outbox import RunReport, run_once
from sync.client.status import CONTACT
from sync.client.transport import Answer

if TYPE_CHECKING:
    from app.services.runtime import Runtime

log = logging.getLogger(__name__)
CYCLE_SECONDS = 30.0
DATABASE_DOWN = "本机数据库暂时无法访问，稍后自动重试"


class Stopped(Exception):
    """The worker was told to stop: not a SyncError, so no outbox row records it."""


@dataclass(frozen=True)
class CycleReport:
    sent: RunReport
    events: PullReport | None
    error: str = ""
    distribution: DistributionReport | None = None
    sender: str = ""  # another desk holds the lease: this cycle did nothing

    @property
    def text(self) -> str:
        """One Chinese line on what the cycle did."""
        if self.sender:
            return f"县级同步由 {self.sender} 进行，本轮未发送"
        sent = self.sent
        line = (
            f"已送达 {sent.delivered} 件，待重试 {sent.retrying} 件，需人工处理 {sent.stopped} 件"
        )
        if self.events is not None:
            events = self.events
            line += f"；县级事件：已应用 {events.applied} 条，未能应用 {len(events.skipped)} 条"
        applied = self.distribution.text if self.distribution is not None else ""
        if applied:
            line += f"；{applied}"
        if self.error:
            line += f"；{self.error}"
        return line

    @property
    def problems(self) -> list[str]:
        """Each event or release that could not be applied, for the person to read."""
        found = list(self.events.skipped) if self.events is not None else []
        if self.distribution is not None:
            found.extend(self.distribution.problems)
        return found


class WorkerClient(CountyClient):
    """The county client of a worker: refuses new requests once told to stop or once the
    lease is lost, and keeps the lease alive while a long pass runs."""

    def __init__(
        self,
        config: SyncConfig,
        *,
        stop: threading.Event | None = None,
        lease: SendLease | None = None,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        super().__init__(config, read_timeout=read_timeout)
        self.stop = stop
        self.lease = lease

    def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        if self.stop is not None and self.stop.is_set():
            raise Stopped
        if self.lease is not None:
            self.lease.keep()
        return super()._call(method, path, **kwargs)


def run_cycle(rt: Runtime, client: CountyClient, lease: SendLease | None = None) -> CycleReport:
    """Send what is due, fetch events, then catalog and holidays; a network failure ends the
    cycle, not the worker. With a lease held by another desk nothing is sent."""
    if lease is not None and not lease.acquire():
        return CycleReport(RunReport(), None, sender=lease.holder)
    sent = run_once(rt, client)
    events: PullReport | None = None
    try:
        events = pull_events(rt, client)
        distribution = pull_distribution(rt, client)
    except BadCredential:
        raise
    except SyncError as exc:
        return CycleReport(sent, events, exc.message)
    finally:
        if lease is not None:
            lease.note(*CONTACT.read())
    return CycleReport(sent, events, distribution=distribution)


def _reset_connection(rt: Runtime) -> None:
    """Drop this thread's database connection; peewee opens a new one on the next query."""
    try:
        if not rt.db.is_closed():
            rt.db.close()
    except pw.PeeweeException:
        log.warning("county sync: could not close the broken connection", exc_info=True)


def run_forever(
    rt: Runtime,
    client: CountyClient,
    stop: threading.Event,
    *,
    interval: float = CYCLE_SECONDS,
    on_cycle: Callable[[CycleReport], None] | None = None,
    lease: SendLease | None = None,
    wake: threading.Event | None = None,
) -> None:
    """Cycle until `stop` is set (the client's background thread, `sync run`); setting
    `wake` starts the next cycle at once. A lease given here is given up at the end.

    A wrong credential stops the loop: resending cannot fix it, a person must."""
    try:
        while not stop.is_set():
            try:
                report = run_cycle(rt, client, lease)
            except BadCredential:
                raise
            except Stopped:
                return
            except LeaseLost as exc:  # another desk took over during the pass
                report = CycleReport(RunReport(), None, sender=exc.holder)
            except SyncError as exc:
                report = CycleReport(RunReport(), None, exc.message)
            except (pw.OperationalError, pw.InterfaceError):
                # The database server restarted or the link dropped: reconnect next cycle.
                log.warning("county sync: the database is unavailable", exc_info=True)
                _reset_connection(rt)
                report = CycleReport(RunReport(), None, DATABASE_DOWN)
            if on_cycle is not None:
                on_cycle(report)
            if wake is None:
                stop.wait(interval)
            else:
                wake.wait(interval)
                wake.clear()
    finally:
        if lease is not None:
            _release(lease)


def _release(lease: SendLease) -> None:
    """Give the lease up; with the database gone the other desks take over once it is silent."""
    try:
        lease.release()
    except pw.PeeweeException:
        log.warning("county sync: could not give up the send lease", exc_info=True)


@dataclass
class WorkerThread:
    """A running worker: `stop()` ends it (the current request may finish first)."""

    thread: threading.Thread
    stop_event: threading.Event
    wake_event: threading.Event

    def run_now(self) -> None:
        self.wake_event.set()

    def stop(self, timeout: float) -> bool:
        """Ask the worker to stop and wait up to `timeout` seconds; True once it has ended."""
        self.stop_event.set()
        self.wake_event.set()
        self.thread.join(timeout)
        return not self.thread.is_alive()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


def start_thread(
    rt: Runtime,
    client: CountyClient,
    *,
    lease: SendLease | None = None,
    interval: float = CYCLE_SECONDS,
    on_cycle: Callable[[CycleReport], None] | None = None,
    on_stopped: Callable[[str], None] | None = None,
) -> WorkerThread:
    """The worker in a daemon thread for the desktop client. It uses its own database
    connection (peewee keeps one per thread) and closes it when it ends; `on_stopped` gets
    the Chinese reason when the worker ends by itself (a refused credential), '' otherwise."""
    stop = threading.Event()
    wake = threading.Event()
    if isinstance(client, WorkerClient):
        client.stop = stop

    def target() -> None:
        reason = ""
        try:
            run_forever(
                rt, client, stop, interval=interval, on_cycle=on_cycle, lease=lease, wake=wake
            )
        except BadCredential as exc:
            log.error("county sync stopped: the county refused the credential (%s)", exc.code)
            reason = exc.message
        except Exception:  # the worker must never die silently: log it and tell the UI
            log.exception("county sync stopped by an unexpected error")
            reason = "县级同步意外停止，详情见日志；重新登录后将再次启动"
        finally:
            client.close()
            _reset_connection(rt)  # this thread's own connection (peewee keeps one per thread)
        if on_stopped is not None:
            on_stopped(reason)

    thread = threading.Thread(target=target, name="county-sync", daemon=True)
    thread.start()
    return WorkerThread(thread, stop, wake)
