"""The demo: valid application forms for every item; realistic cases through the services."""

from __future__ import annotations

import random
from datetime import date

from app.domain.states import CaseState
from app.services import audit, demo
from app.store.models import AccountRecord, CaseRecord, EvaluationRecord
from forms.catalog import load_demo_catalog
from forms.schema import validate_form
from forms.validators import check_resident_id


def test_demo_forms_pass_validation_for_every_item():
    builder = demo.DemoBuilder.__new__(demo.DemoBuilder)
    for seed in range(40):
        builder.rng = random.Random(seed)
        for item in load_demo_catalog().items:
            who = builder.person(date(2026, 11, 1))
            assert check_resident_id(who.id_number).ok
            data = builder.form_data(item, who, date(2026, 11, 1))
            assert validate_form(item, data) == {}, item.name


def test_demo_township_accounts_and_cases(rt):
    accounts = demo.setup_township(rt)
    roles = sorted(row[2].split("·")[0] for row in accounts.rows)
    assert (
        roles.count("综合窗口") == 2 and roles.count("站办所") == 6 and roles.count("出件窗口") == 2
    )
    assert all(
        AccountRecord.get(AccountRecord.username == r[0]).must_change_password
        for r in accounts.rows
    )
    demo.generate_cases(rt, 150, seed=7)
    assert CaseRecord.select().count() == 150
    states = {c.state for c in CaseRecord.select(CaseRecord.state)}
    assert {CaseState.CLOSED.value, CaseState.IN_REVIEW.value}.issubset(states)
    assert len(states) >= 6
    assert EvaluationRecord.select().count() > 0
    # Cases were replayed over past months, and the audit trail carries those times.
    oldest = CaseRecord.select().order_by(CaseRecord.received_at).first()
    assert oldest.received_at.date() < date(2026, 10, 1)
    first_intake = next(
        e for e in audit.events_for("case", str(oldest.uuid)) if e.action == "case.intake"
    )
    assert first_intake.at == oldest.received_at
    assert audit.verify(rt.audit_key).ok
