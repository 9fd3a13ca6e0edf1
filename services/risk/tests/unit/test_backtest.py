"""The backtest: the AUC's rank formula, each claim's outcome, the report, and a generated
history through the command end to end."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from typer.testing import CliRunner

from amiable_demo.generate import Plan, generate
from amiable_demo.ndjson import write_ndjson
from amiable_events.claims import (
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimSettled,
    ClaimWrittenOff,
    Contact,
    Debtor,
    PaymentReceived,
)
from amiable_events.envelope import Envelope
from amiable_risk.api.cli import commands
from amiable_risk.app.backtest import GradeRow, Report, auc, backtest
from amiable_risk.domain.scorecard import Scorecard

DUE = date(2025, 3, 31)
DEBTOR = Debtor(
    id="d-1",
    legal_name="Ateliers Durand SAS",
    country="FR",
    language="fr-FR",
    timezone="Europe/Paris",
    contacts=(Contact(email="pii:v1:sealed-email"),),
)


def test_auc_of_a_perfect_ranking_is_1_of_a_reversed_one_0_and_of_ties_one_half():
    assert auc([(10, False), (20, False), (30, True), (40, True)]) == 1.0
    assert auc([(10, True), (20, True), (30, False), (40, False)]) == 0.0
    assert auc([(50, True), (50, False), (50, True), (50, False)]) == 0.5


def test_auc_counts_a_tie_between_a_late_and_a_timely_claim_as_one_half():
    # pairs (late, timely): (30, 20) ranked right, (30, 30) tied, (10, 20) and (10, 30) wrong
    assert auc([(30, True), (10, True), (20, False), (30, False)]) == pytest.approx(1.5 / 4)


def test_auc_needs_both_outcomes():
    assert auc([(10, True), (20, True)]) is None
    assert auc([]) is None


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), tzinfo=UTC)


def _envelope(number: int, event, day: date) -> Envelope:
    return Envelope(
        id=UUID(int=number),
        subject=event.subject,
        time=_at(day),
        tenant="acme",
        debtor_id=DEBTOR.id,
        correlation_id=UUID(int=number),
        data=event,
    )


def _claim(n: int, amount: str = "1000.00") -> tuple[UUID, list[Envelope]]:
    claim_id = UUID(int=1000 + n)
    issued = DUE - timedelta(days=30)
    registered = ClaimRegistered(
        claim_id=claim_id,
        invoice_number=f"INV-{n}",
        amount=Decimal(amount),
        currency="EUR",
        issued_on=issued,
        due_on=DUE,
        debtor=DEBTOR,
        registered_at=_at(issued),
    )
    qualified = ClaimQualified(
        claim_id=claim_id, qualified_at=_at(issued), prescription_date=DUE + timedelta(days=1800)
    )
    return claim_id, [
        _envelope(n * 10, registered, issued),
        _envelope(n * 10 + 1, qualified, issued),
    ]


def _paid(n: int, claim_id: UUID, late: int) -> list[Envelope]:
    day = DUE + timedelta(days=late)
    payment = PaymentReceived(
        claim_id=claim_id,
        payment_id=UUID(int=5000 + n),
        amount=Decimal("1000.00"),
        currency="EUR",
        received_on=day,
        recorded_at=_at(day),
    )
    settled = ClaimSettled(claim_id=claim_id, settled_on=day, overpaid=Decimal(0))
    return [_envelope(n * 10 + 2, payment, day), _envelope(n * 10 + 3, settled, day)]


def test_each_claim_s_outcome_comes_from_the_rest_of_the_history():
    history: list[Envelope] = []
    on_time, events = _claim(1)
    history += events
    late, events = _claim(2)
    history += events
    _, events = _claim(3)
    history += events
    cancelled, events = _claim(4)
    history += events
    written_off, events = _claim(5)
    history += events
    history += _paid(1, on_time, 30)  # 30 days: not more than 30
    history += _paid(2, late, 31)
    history.append(
        _envelope(
            43,
            ClaimCancelled(claim_id=cancelled, reason="pii:v1:x", cancelled_at=_at(DUE)),
            DUE,
        )
    )
    history.append(
        _envelope(
            53,
            ClaimWrittenOff(claim_id=written_off, reason="pii:v1:x", written_off_at=_at(DUE)),
            DUE + timedelta(days=5),
        )
    )
    report = backtest(sorted(history, key=lambda e: e.time), Scorecard.load())

    assert report.history_end == DUE + timedelta(days=31)
    assert report.qualified == 5
    assert report.cancelled == 1
    # late: paid 31 days late (2), and unpaid 31 days past due at the end: open (3), written
    # off (5); on time: paid 30 days late (1)
    assert (report.known, report.paid_late, report.too_young) == (4, 3, 0)
    assert sum(row.claims for row in report.grades) == report.known


def test_an_unpaid_claim_not_yet_30_days_past_due_is_too_young():
    _, history = _claim(1)
    other, events = _claim(2)
    history += events + _paid(2, other, 10)

    report = backtest(history, Scorecard.load())

    assert (report.qualified, report.known, report.too_young) == (2, 1, 1)
    assert report.paid_late == 0
    assert report.auc is None


def test_the_table_shows_each_grade_the_total_and_the_auc():
    report = Report(
        scorecard_version="2026.12-1",
        history_end=date(2026, 1, 2),
        events=120,
        qualified=30,
        known=25,
        paid_late=6,
        cancelled=3,
        too_young=2,
        auc=0.8123,
        grades=(
            GradeRow("A", 20, 2),
            GradeRow("B", 5, 4),
            GradeRow("C", 0, 0),
            GradeRow("D", 0, 0),
            GradeRow("E", 0, 0),
        ),
    )

    lines = report.table().splitlines()

    assert lines[0] == "risk backtest: scorecard 2026.12-1, 120 events, history to 2026-01-02"
    assert lines[1] == (
        "claims qualified 30: outcome known 25, excluded 5 (cancelled 3, too young 2)"
    )
    assert lines[3].split() == ["grade", "claims", "paid", ">30", "days", "late", "rate"]
    assert lines[4].split() == ["A", "20", "2", "10.0%"]
    assert lines[5].split() == ["B", "5", "4", "80.0%"]
    assert lines[6].split() == ["C", "0", "0", "-"]
    assert lines[9].split() == ["all", "25", "6", "24.0%"]
    assert lines[-1].startswith("AUC 0.812 ")


def test_a_generated_history_backtests_from_its_file(tmp_path):
    path = tmp_path / "history.ndjson"
    write_ndjson(generate(Plan(claims=400, seed=5)).envelopes, path)
    runner = CliRunner(env={"AMIABLE_ENV": "dev"})

    table = runner.invoke(commands, ["backtest", "--file", str(path)])
    as_json = runner.invoke(commands, ["backtest", "--file", str(path), "--json"])

    assert table.exit_code == 0, table.output
    assert "grade" in table.output and "AUC 0." in table.output
    report = json.loads(as_json.output)
    assert report["qualified"] == 400
    assert report["known"] + report["cancelled"] + report["too_young"] == 400
    assert report["scorecard_version"] == Scorecard.load().version
    assert [row["grade"] for row in report["grades"]] == ["A", "B", "C", "D", "E"]
    # the generated debtors' behaviours are what the scorecard reads: it ranks them well
    assert report["auc"] > 0.75
    late_share = [row["rate"] for row in report["grades"] if row["claims"] >= 20]
    assert late_share[0] < late_share[-1]
