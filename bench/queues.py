"""Queues, state filters and searches over the demo database, against the same raw SQL."""

from __future__ import annotations

from typing import Any

from bench.common import figure, timed

TARGET_MS = 50.0
PAGE = 100


def _actor(username: str, desk: str) -> Any:
    from app.services import accounts
    from app.store.models import AccountRecord

    return accounts.actor_of(AccountRecord.get(AccountRecord.username == username), desk)


def _raw(db: Any, sql: str, params: tuple[Any, ...]) -> None:
    db.execute_sql(sql, params).fetchall()


def _service_and_raw(rt: Any, f: Any, urgent: bool) -> tuple[Any, Any]:
    """The service call (count + first page) and the identical SQL run directly."""
    from app.services.case_view import queue_count, queue_page
    from app.store.queries import RECENT, URGENT, queue_sql

    def service() -> None:
        queue_count(f)
        queue_page(f, 0, PAGE, urgent=urgent)

    statements = queue_sql(f, PAGE, order=URGENT if urgent else RECENT)

    def raw() -> None:
        for sql, params in statements:
            _raw(rt.db, sql, tuple(params))

    return service, raw


def run(rt: Any) -> list[dict[str, Any]]:
    from app.domain.states import CaseState
    from app.services.case_view import queue_filter
    from app.store.models import ApplicantRecord, CaseRecord

    window = _actor("window1", "A1")
    station = _actor("st_minzheng", "S1")
    issuance = _actor("issue1", "C1")
    sample = CaseRecord.select().order_by(CaseRecord.id.desc()).first()
    applicant = ApplicantRecord.get_by_id(sample.applicant_id)
    full_id = rt.cipher.decrypt(bytes(applicant.id_cipher), context="applicant.id")
    full_phone = rt.cipher.decrypt(bytes(applicant.phone_cipher), context="applicant.phone")
    cases = {
        "queue.window": (queue_filter(rt, window), True),
        "queue.station": (queue_filter(rt, station), True),
        "queue.issuance": (queue_filter(rt, issuance), True),
        "filter.state_closed": (queue_filter(rt, window, states=(CaseState.CLOSED,)), False),
        "filter.state_in_review": (queue_filter(rt, window, states=(CaseState.IN_REVIEW,)), False),
        "search.case_no": (queue_filter(rt, window, states=(), search=sample.case_no), False),
        "search.name": (queue_filter(rt, window, states=(), search=applicant.name[:2]), False),
        "search.phone_tail": (queue_filter(rt, window, states=(), search=full_phone[-4:]), False),
        "search.id_tail": (queue_filter(rt, window, states=(), search=full_id[-4:]), False),
        "search.id_full": (queue_filter(rt, window, states=(), search=full_id), False),
        "search.phone_full": (queue_filter(rt, window, states=(), search=full_phone), False),
    }
    results = []
    total = CaseRecord.select().count()
    for name, (f, urgent) in cases.items():
        if f.states == ():
            from dataclasses import replace

            f = replace(f, states=None)
        service, raw = _service_and_raw(rt, f, urgent)
        value, baseline = timed(service), timed(raw)
        results.append(
            figure(
                name,
                value,
                "ms",
                TARGET_MS,
                baseline=baseline,
                ratio=value / max(baseline, 1e-6),
                cases=total,
            )
        )
    return results
