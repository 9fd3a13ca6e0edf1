"""KPIs over hand-computed portfolios: every expected figure is worked out in the comments."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from amiable_claims.domain.kpis import (
    ClaimFacts,
    Kpis,
    aged_balance,
    collected,
    currencies,
    days_past_due,
    dso_countback,
    kpis,
    open_balance,
    placed_amount,
    ratio,
)

D = Decimal


def claim(
    claim_id: str,
    amount: str,
    issued_on: date,
    due_on: date,
    registered_on: date | None = None,
    *,
    currency: str = "EUR",
    payments: tuple[tuple[date, str], ...] = (),
    credits: tuple[tuple[date, str], ...] = (),
    closed_on: date | None = None,
    closed_as: str | None = None,
    disputed_on: date | None = None,
    dispute_reason: str | None = None,
    recovery_cost: str = "0",
) -> ClaimFacts:
    return ClaimFacts(
        claim_id=claim_id,
        currency=currency,
        amount=D(amount),
        issued_on=issued_on,
        due_on=due_on,
        registered_on=registered_on or issued_on,
        payments=tuple((d, D(a)) for d, a in payments),
        credits=tuple((d, D(a)) for d, a in credits),
        closed_on=closed_on,
        closed_as=closed_as,  # type: ignore[arg-type]
        disputed_on=disputed_on,
        dispute_reason=dispute_reason,
        recovery_cost=D(recovery_cost),
    )


# ---------------------------------------------------------------------------------------------
# open balance, placed amount, collected


def test_open_balance_subtracts_credits_and_payments_dated_up_to_as_of() -> None:
    c = claim(
        "c",
        "1000",
        date(2026, 1, 1),
        date(2026, 1, 31),
        payments=((date(2026, 2, 10), "300"), (date(2026, 3, 10), "200")),
        credits=((date(2026, 2, 20), "100"),),
    )
    assert open_balance(c, date(2025, 12, 31)) == 0  # not issued yet
    assert open_balance(c, date(2026, 1, 1)) == D(1000)
    assert open_balance(c, date(2026, 2, 10)) == D(700)  # 1000 - 300 (payment dated that day)
    assert open_balance(c, date(2026, 2, 28)) == D(600)  # 1000 - 300 - 100
    assert open_balance(c, date(2026, 3, 10)) == D(400)  # 1000 - 300 - 100 - 200


def test_open_balance_is_floored_at_zero_and_zero_once_closed() -> None:
    overpaid = claim(
        "o", "100", date(2026, 1, 1), date(2026, 1, 31), payments=((date(2026, 2, 1), "140"),)
    )
    assert open_balance(overpaid, date(2026, 2, 1)) == 0
    closed = claim(
        "w",
        "100",
        date(2026, 1, 1),
        date(2026, 1, 31),
        closed_on=date(2026, 3, 1),
        closed_as="written_off",
    )
    assert open_balance(closed, date(2026, 2, 28)) == D(100)
    assert open_balance(closed, date(2026, 3, 1)) == 0


def test_placed_amount_is_net_of_all_credits_and_of_payments_before_registration() -> None:
    c = claim(
        "c",
        "1000",
        date(2026, 1, 1),
        date(2026, 1, 31),
        registered_on=date(2026, 2, 15),
        # 100 paid before registration reduces what was placed; 50 on the day is a recovery
        payments=((date(2026, 2, 1), "100"), (date(2026, 2, 15), "50")),
        # a credit note dated after registration still reduces the placed amount
        credits=((date(2026, 3, 1), "200"),),
    )
    assert placed_amount(c) == D(700)  # 1000 - 100 - 200
    assert collected(c, date(2026, 2, 1), date(2026, 2, 28)) == D(50)  # 100 predates placement


def test_ratio_rounds_half_up_to_four_places_and_is_none_on_zero_denominator() -> None:
    assert ratio(D(1), D(3)) == D("0.3333")
    assert ratio(D(2), D(3)) == D("0.6667")
    assert ratio(D("0.00005"), D(1)) == D("0.0001")  # half up, not half even
    assert ratio(D(5), D(0)) is None


# ---------------------------------------------------------------------------------------------
# aged balance

AS_OF = date(2026, 3, 31)


def aging_portfolio() -> list[ClaimFacts]:
    def due(d: date, cid: str, amount: str, **kw: object) -> ClaimFacts:
        return claim(cid, amount, date(2025, 10, 1), d, **kw)  # type: ignore[arg-type]

    return [
        due(date(2026, 4, 15), "A", "100"),  # -15 days: current
        due(date(2026, 3, 31), "B", "200"),  # 0 days (due today): current
        due(date(2026, 3, 1), "C", "300", payments=((date(2026, 3, 10), "50"),)),  # 30: 1-30, 250
        due(date(2026, 2, 28), "D", "400"),  # 31: 31-60
        due(date(2026, 1, 30), "E", "500"),  # 1 + 28 + 31 = 60: 31-60
        due(date(2026, 1, 1), "F", "600"),  # 30 + 28 + 31 = 89: 61-90
        due(date(2025, 12, 31), "G", "700"),  # 90: 61-90
        due(date(2025, 12, 30), "H", "800"),  # 91: 90+
        # settled before as_of: no open balance, not counted
        due(date(2026, 1, 1), "I", "999", closed_on=date(2026, 2, 1), closed_as="settled"),
        # issued after as_of: ignored
        claim("J", "999", date(2026, 4, 1), date(2026, 5, 1)),
        # another currency: never mixed in
        due(date(2026, 1, 1), "K", "1000", currency="USD"),
    ]


def test_days_past_due_of_the_aging_portfolio() -> None:
    by_id = {c.claim_id: days_past_due(c, AS_OF) for c in aging_portfolio()}
    assert [by_id[k] for k in "ABCDEFGH"] == [-15, 0, 30, 31, 60, 89, 90, 91]


def test_aged_balance_portfolio_buckets() -> None:
    aged = aged_balance(aging_portfolio(), AS_OF, currency="EUR")
    # current: A 100 + B 200 = 300 (2); 1-30: C 300 - 50 = 250 (1); 31-60: D 400 + E 500 = 900
    # (2); 61-90: F 600 + G 700 = 1300 (2); 90+: H 800 (1). Total 3550 over 8 claims.
    assert [(b.label, b.amount, b.count) for b in aged.buckets] == [
        ("current", D(300), 2),
        ("1-30", D(250), 1),
        ("31-60", D(900), 2),
        ("61-90", D(1300), 2),
        ("90+", D(800), 1),
    ]
    assert aged.total == D(3550)
    assert aged.count == 8
    assert aged.bucket("90+").amount == D(800)


def test_aged_balance_statement_buckets_fold_current_into_0_30() -> None:
    aged = aged_balance(aging_portfolio(), AS_OF, currency="EUR", style="statement")
    # 0-30: A 100 + B 200 + C 250 = 550 (3); the rest as in the portfolio style
    assert [(b.label, b.amount, b.count) for b in aged.buckets] == [
        ("0-30", D(550), 3),
        ("31-60", D(900), 2),
        ("61-90", D(1300), 2),
        ("90+", D(800), 1),
    ]
    assert aged.total == D(3550)


def test_aged_balance_keeps_currencies_apart() -> None:
    usd = aged_balance(aging_portfolio(), AS_OF, currency="USD")
    assert usd.total == D(1000)
    assert usd.bucket("61-90").count == 1  # K: 89 days past due
    assert currencies(aging_portfolio()) == ("EUR", "USD")


def test_aged_balance_of_an_empty_portfolio_has_every_bucket_at_zero() -> None:
    aged = aged_balance([], AS_OF, currency="EUR")
    assert [b.label for b in aged.buckets] == ["current", "1-30", "31-60", "61-90", "90+"]
    assert aged.total == 0
    assert aged.count == 0
    assert aged.as_dict()["buckets"][0] == {"label": "current", "amount": "0", "count": 0}


def test_aged_balance_rejects_an_unknown_style() -> None:
    with pytest.raises(ValueError, match="aging style"):
        aged_balance([], AS_OF, currency="EUR", style="weekly")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# DSO, countback


def test_dso_countback_worked_example() -> None:
    as_of = date(2026, 3, 15)
    claims = [
        # A: 4000 invoiced in December, 3000 paid: 1000 open
        claim(
            "A",
            "4000",
            date(2025, 12, 10),
            date(2026, 1, 9),
            payments=((date(2026, 1, 15), "3000"),),
        ),
        # B: 2000 invoiced in January, all open
        claim("B", "2000", date(2026, 1, 20), date(2026, 2, 19)),
        # C: 1500 invoiced in February, 500 credited: 1000 open
        claim(
            "C", "1500", date(2026, 2, 5), date(2026, 3, 7), credits=((date(2026, 2, 10), "500"),)
        ),
        # D: 1000 invoiced in February, paid the day after as_of: 1000 open at as_of
        claim(
            "D",
            "1000",
            date(2026, 2, 25),
            date(2026, 3, 27),
            payments=((date(2026, 3, 16), "1000"),),
        ),
        # E: 600 invoiced in March (before as_of), open
        claim("E", "600", date(2026, 3, 5), date(2026, 4, 4)),
        # F: issued after as_of: neither receivable nor sales
        claim("F", "5000", date(2026, 3, 16), date(2026, 4, 15)),
        # another currency
        claim("G", "9999", date(2026, 3, 1), date(2026, 3, 31), currency="USD"),
    ]
    # Open receivables at 15 Mar: A 1000 + B 2000 + C 1000 + D 1000 + E 600 = 5600.
    # 1-15 Mar (15 days): invoiced 600 (E)            -> 5600 > 600:  DSO 15, left 5000
    # Feb (28 days):      invoiced 1500 + 1000 = 2500 -> 5000 > 2500: DSO 43, left 2500
    # Jan (31 days):      invoiced 2000 (B)           -> 2500 > 2000: DSO 74, left 500
    # Dec (31 days):      invoiced 4000 (A)           -> 500 / 4000 x 31 = 3.875
    # DSO = 74 + 3.875 = 77.875
    assert dso_countback(claims, as_of, currency="EUR") == D("77.8750")


def test_dso_counts_months_without_sales_as_fully_consumed() -> None:
    claims = [claim("A", "1000", date(2026, 1, 15), date(2026, 2, 14))]
    # March: 0 invoiced -> 31; February: 0 -> 28; January: 1000 / 1000 x 31 = 31. DSO = 90.
    assert dso_countback(claims, date(2026, 3, 31), currency="EUR") == D("90.0000")


def test_dso_is_zero_when_nothing_is_open_and_none_without_sales() -> None:
    paid = claim(
        "A",
        "1000",
        date(2026, 1, 15),
        date(2026, 2, 14),
        payments=((date(2026, 2, 1), "1000"),),
        closed_on=date(2026, 2, 1),
        closed_as="settled",
    )
    assert dso_countback([paid], date(2026, 3, 31), currency="EUR") == D("0.0000")
    assert dso_countback([], date(2026, 3, 31), currency="EUR") is None
    # only sales after as_of: nothing to count back against
    assert dso_countback([paid], date(2026, 1, 14), currency="EUR") is None


# ---------------------------------------------------------------------------------------------
# CEI


def test_cei_worked_example() -> None:
    claims = [
        # X: invoiced in January, open 1000 at 31 Jan; 600 paid 15 Feb -> 400 open, past due
        claim(
            "X", "1000", date(2026, 1, 10), date(2026, 2, 9), payments=((date(2026, 2, 15), "600"),)
        ),
        # Y: invoiced in February, 500 paid -> 1500 open, due 7 Mar: current at 28 Feb
        claim(
            "Y", "2000", date(2026, 2, 5), date(2026, 3, 7), payments=((date(2026, 2, 25), "500"),)
        ),
        # Z: invoiced in February, open 500, current
        claim("Z", "500", date(2026, 2, 20), date(2026, 3, 22)),
    ]
    k = kpis(claims, date(2026, 2, 1), date(2026, 2, 28), currency="EUR")
    # opening (31 Jan) = 1000; invoiced in Feb = 2000 + 500 = 2500; no credit notes
    # closing total (28 Feb) = 400 + 1500 + 500 = 2400; closing current = 1500 + 500 = 2000
    # CEI = (1000 + 2500 - 2400) / (1000 + 2500 - 2000) x 100 = 1100 / 1500 x 100 = 73.3333
    assert (k.opening_receivables, k.invoiced_amount) == (D(1000), D(2500))
    assert (k.closing_receivables, k.closing_current_receivables) == (D(2400), D(2000))
    assert k.cei == D("73.3333")


# ---------------------------------------------------------------------------------------------
# period KPIs over one portfolio: Q1 2026

Q1 = (date(2026, 1, 1), date(2026, 3, 31))


def q1_portfolio() -> list[ClaimFacts]:
    return [
        # P1: in recovery since Dec; 200 collected in Dec, 300 in Feb -> 800 open at 31 Dec,
        # 500 at 31 Mar (due 1 Dec: past due)
        claim(
            "P1",
            "1000",
            date(2025, 11, 1),
            date(2025, 12, 1),
            date(2025, 12, 15),
            payments=((date(2025, 12, 20), "200"), (date(2026, 2, 10), "300")),
            recovery_cost="10",
        ),
        # P2: 500 paid before registration (placed 1500), 1500 collected 1 Mar: settled.
        # delay: 4 Feb -> 1 Mar = 25 days; from issue: 5 Jan -> 1 Mar = 55 days
        claim(
            "P2",
            "2000",
            date(2026, 1, 5),
            date(2026, 2, 4),
            date(2026, 2, 10),
            payments=((date(2026, 1, 20), "500"), (date(2026, 3, 1), "1500")),
            closed_on=date(2026, 3, 1),
            closed_as="settled",
        ),
        # P3: credit note 200 (placed 1000), partial payment 400 -> 600 open at 31 Mar, past due
        claim(
            "P3",
            "1200",
            date(2026, 1, 15),
            date(2026, 2, 14),
            date(2026, 2, 20),
            payments=((date(2026, 3, 20), "400"),),
            credits=((date(2026, 3, 5), "200"),),
            disputed_on=date(2026, 3, 1),
            dispute_reason="quality",
            recovery_cost="30",
        ),
        # P4: registered before its due date, 900 open and current at 31 Mar; a payment after
        # the period is ignored; costs but no collection in the period
        claim(
            "P4",
            "900",
            date(2026, 3, 1),
            date(2026, 4, 30),
            date(2026, 3, 25),
            payments=((date(2026, 4, 10), "100"),),
            disputed_on=date(2026, 3, 28),
            dispute_reason="missing_po",
            recovery_cost="15",
        ),
        # P5: in recovery since Nov, 600 open at 31 Dec, written off 31 Jan
        claim(
            "P5",
            "600",
            date(2025, 10, 1),
            date(2025, 10, 31),
            date(2025, 11, 15),
            closed_on=date(2026, 1, 31),
            closed_as="written_off",
        ),
        # P6: invoiced in Dec (open 400 at 31 Dec, not yet in recovery), placed 10 Jan,
        # collected 30 Jan: settled. delay 31 Dec -> 30 Jan = 30 days; from issue 1 Dec -> 30 Jan
        # = 60 days
        claim(
            "P6",
            "400",
            date(2025, 12, 1),
            date(2025, 12, 31),
            date(2026, 1, 10),
            payments=((date(2026, 1, 30), "400"),),
            closed_on=date(2026, 1, 30),
            closed_as="settled",
            recovery_cost="20",
        ),
        # P7: invoiced and placed in Feb, cancelled 15 Feb
        claim(
            "P7",
            "300",
            date(2026, 2, 1),
            date(2026, 3, 3),
            date(2026, 2, 5),
            closed_on=date(2026, 2, 15),
            closed_as="cancelled",
        ),
        # P8: issued and placed after the period: ignored
        claim(
            "P8",
            "7000",
            date(2026, 4, 5),
            date(2026, 5, 5),
            date(2026, 4, 6),
            disputed_on=date(2026, 4, 7),
        ),
        # P9: another currency, paid 8 days early
        claim(
            "P9",
            "5000",
            date(2026, 1, 10),
            date(2026, 2, 9),
            date(2026, 1, 20),
            currency="USD",
            payments=((date(2026, 2, 1), "5000"),),
            closed_on=date(2026, 2, 1),
            closed_as="settled",
        ),
    ]


@pytest.fixture
def q1() -> Kpis:
    return kpis(q1_portfolio(), *Q1, currency="EUR")


def test_counts_and_amounts(q1: Kpis) -> None:
    # placed in Q1: P2 (10 Feb), P3 (20 Feb), P4 (25 Mar), P6 (10 Jan), P7 (5 Feb)
    assert q1.placed_count == 5
    # placed amounts: P2 2000 - 500 = 1500, P3 1200 - 200 = 1000, P4 900, P6 400, P7 300
    assert q1.placed_amount == D(4100)
    assert (q1.settled_count, q1.written_off_count, q1.cancelled_count) == (2, 1, 1)
    # collected in Q1: P1 300 + P2 1500 (its 500 predates registration) + P3 400 + P6 400
    assert q1.collected_amount == D(2600)
    assert q1.collected_on_placed == D(2300)  # P2 1500 + P3 400 + P6 400
    # invoiced in Q1: P2 2000 + P3 1200 + P4 900 + P7 300; credit notes in Q1: P3 200
    assert (q1.invoiced_amount, q1.credited_amount) == (D(4400), D(200))


def test_recovery_rates(q1: Kpis) -> None:
    # cohort: 2300 / 4100 = 0.56097... -> 0.5610
    assert q1.recovery_rate == D("0.5610")
    # in recovery at 31 Dec: P1 800 + P5 600 = 1400 (P6 was open but not yet placed)
    assert q1.open_in_recovery_at_start == D(1400)
    # all: 2600 / (1400 + 4100) = 0.47272... -> 0.4727
    assert q1.recovery_rate_all == D("0.4727")


def test_average_collection_delay(q1: Kpis) -> None:
    # settled in Q1: P2 (25 days after due, 55 after issue), P6 (30, 60)
    assert q1.average_collection_delay_days == D("27.5000")  # (25 + 30) / 2
    assert q1.average_collection_delay_from_issue_days == D("57.5000")  # (55 + 60) / 2


def test_dso_of_the_quarter(q1: Kpis) -> None:
    # open at 31 Mar: P1 500 + P3 600 + P4 900 = 2000
    # Mar (31 d): invoiced 900 (P4)          -> DSO 31, left 1100
    # Feb (28 d): invoiced 300 (P7)          -> DSO 59, left 800
    # Jan (31 d): invoiced 2000 + 1200 = 3200 -> 800 / 3200 x 31 = 7.75
    assert q1.closing_receivables == D(2000)
    assert q1.dso_days == D("66.7500")


def test_cei_of_the_quarter(q1: Kpis) -> None:
    # opening (31 Dec): P1 800 + P5 600 + P6 400 = 1800
    # invoiced net of credit notes: 4400 - 200 = 4200
    # closing 2000; closing current: P4 900 (due 30 Apr)
    # CEI = (1800 + 4200 - 2000) / (1800 + 4200 - 900) x 100 = 4000 / 5100 x 100 = 78.4314
    # (the 4000 = collections 300 + 500 + 1500 + 400 + 400 + write-off 600 + cancellation 300)
    assert q1.opening_receivables == D(1800)
    assert q1.closing_current_receivables == D(900)
    assert q1.cei == D("78.4314")


def test_dispute_rate(q1: Kpis) -> None:
    # disputed in Q1: P3 (quality), P4 (missing_po); P8's dispute is after the period
    # 2 / 5 placed = 0.4; by reason 1 / 5 = 0.2 each
    assert q1.disputed_count == 2
    assert q1.dispute_rate == D("0.4000")
    assert q1.disputed_by_reason == {"missing_po": 1, "quality": 1}
    assert q1.dispute_rate_by_reason == {"missing_po": D("0.2000"), "quality": D("0.2000")}


def test_cost_of_recovery(q1: Kpis) -> None:
    # claims with a collection in Q1: P1 10 + P2 0 + P3 30 + P6 20 = 60 (P4's 15: no collection)
    # 60 / 2600 = 0.023077 -> 0.0231
    assert q1.recovery_cost == D(60)
    assert q1.cost_of_recovery == D("0.0231")


def test_other_currency_is_kept_apart() -> None:
    usd = kpis(q1_portfolio(), *Q1, currency="USD")
    assert (usd.placed_count, usd.placed_amount, usd.collected_amount) == (1, D(5000), D(5000))
    assert usd.recovery_rate == D("1.0000")
    assert usd.average_collection_delay_days == D("-8.0000")  # paid 1 Feb, due 9 Feb
    assert usd.average_collection_delay_from_issue_days == D("22.0000")  # 10 Jan -> 1 Feb
    assert usd.closing_receivables == 0
    assert currencies(q1_portfolio()) == ("EUR", "USD")


def test_a_claim_issued_after_the_period_changes_nothing() -> None:
    without_p8 = [c for c in q1_portfolio() if c.claim_id != "P8"]
    assert kpis(without_p8, *Q1, currency="EUR") == kpis(q1_portfolio(), *Q1, currency="EUR")


def test_empty_portfolio_gives_none_rates_not_exceptions() -> None:
    k = kpis([], *Q1, currency="EUR")
    assert k.placed_count == k.settled_count == k.disputed_count == 0
    assert k.placed_amount == k.collected_amount == k.closing_receivables == 0
    for name in (
        "recovery_rate",
        "recovery_rate_all",
        "average_collection_delay_days",
        "average_collection_delay_from_issue_days",
        "dso_days",
        "cei",
        "dispute_rate",
        "cost_of_recovery",
    ):
        assert getattr(k, name) is None, name
    assert k.dispute_rate_by_reason == {}


def test_a_fully_paid_portfolio_has_no_cei_denominator_issue() -> None:
    # opening 0, invoiced 100, closing 0, closing current 0 -> 100 / 100 x 100 = 100
    paid = claim(
        "A",
        "100",
        date(2026, 1, 5),
        date(2026, 2, 4),
        payments=((date(2026, 1, 20), "100"),),
        closed_on=date(2026, 1, 20),
        closed_as="settled",
    )
    k = kpis([paid], *Q1, currency="EUR")
    assert k.cei == D("100.0000")
    assert k.recovery_rate == D("1.0000")
    assert k.cost_of_recovery == D("0.0000")


def test_the_period_must_not_be_reversed() -> None:
    with pytest.raises(ValueError, match="after period_to"):
        kpis([], date(2026, 3, 31), date(2026, 1, 1), currency="EUR")


def test_as_dict_is_json_ready(q1: Kpis) -> None:
    data = q1.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["period_from"] == "2026-01-01"
    assert data["recovery_rate"] == "0.5610"
    assert data["placed_amount"] == "4100"
    assert data["dispute_rate_by_reason"] == {"missing_po": "0.2000", "quality": "0.2000"}
    assert kpis([], *Q1, currency="EUR").as_dict()["cei"] is None
    aged = aged_balance(aging_portfolio(), AS_OF, currency="EUR").as_dict()
    assert aged["as_of"] == "2026-03-31"
    assert aged["total"] == "3550.00"  # open balances are in the currency's precision
    assert aged["buckets"][1] == {"label": "1-30", "amount": "250.00", "count": 1}
