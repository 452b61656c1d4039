"""The send lease: one desk at a time talks to the county; a silent holder is taken over."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sync.client.lease import STALE_AFTER, LeaseLost, SendLease, read_lease


def test_one_holder_and_takeover_only_after_the_holder_falls_silent(rt: Any, clock: Any):
    a = SendLease(rt, "A1 综合窗口", seconds=120, renew_seconds=20)
    b = SendLease(rt, "A2 综合窗口B岗", seconds=120, renew_seconds=20)
    assert a.acquire() and not b.acquire()
    assert (b.held, b.holder) == (False, "A1 综合窗口")
    assert read_lease().label == "A1 综合窗口"  # type: ignore[union-attr]

    clock.advance(seconds=100)
    assert a.acquire()  # renewed: its beat moved
    clock.advance(seconds=100)
    assert not b.acquire()  # A's beat moved since B last looked: B starts waiting again
    clock.advance(seconds=119)
    assert not b.acquire()
    clock.advance(seconds=2)
    assert b.acquire() and b.holder == ""  # 121 s without a beat: A is gone

    assert not a.acquire() and a.holder == "A2 综合窗口B岗"
    with pytest.raises(LeaseLost):
        a.keep()  # a pass still running at A stops at its next request
    b.release()
    assert read_lease() is None and a.acquire()


def test_keep_renews_only_when_due_and_a_long_dead_lease_is_taken_at_once(rt: Any, clock: Any):
    a = SendLease(rt, "A1", seconds=120, renew_seconds=20)
    assert a.acquire()
    beat = read_lease().beat  # type: ignore[union-attr]
    clock.advance(seconds=10)
    a.keep()
    assert read_lease().beat == beat  # type: ignore[union-attr]
    clock.advance(seconds=15)
    a.keep()
    assert read_lease().beat == beat + 1  # type: ignore[union-attr]
    a.note(False, "无法连接县级服务器")
    assert (read_lease().online, read_lease().error) == (False, "无法连接县级服务器")  # type: ignore[union-attr]

    clock.value += STALE_AFTER  # A's process died long ago; a desk starting now takes over
    c = SendLease(rt, "C1")
    assert c.acquire()


def test_desks_acquiring_at_the_same_moment_get_exactly_one_winner(rt: Any):
    desks = [SendLease(rt, f"A{n}") for n in range(4)]
    rounds = 4
    start = threading.Barrier(len(desks))
    results: list[list[bool]] = [[] for _ in range(rounds)]
    lock = threading.Lock()

    def desk(lease: SendLease) -> None:
        try:
            for round_no in range(rounds):
                start.wait(timeout=30)
                held = lease.acquire()
                with lock:
                    results[round_no].append(held)
                start.wait(timeout=30)
                if held:
                    lease.release()
                start.wait(timeout=30)
        finally:
            rt.db.close()  # this thread's own connection

    threads = [threading.Thread(target=desk, args=(lease,)) for lease in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert [r.count(True) for r in results] == [1] * rounds
    assert read_lease() is None
