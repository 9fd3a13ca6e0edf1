"""Statutory late-payment amounts: every figure below is worked out by hand in the comments.

Interest per line = principal x rate x days / 365, rounded ROUND_HALF_UP to the cent at the end
of the line; FR rate = ECB MRO on 1 Jan / 1 Jul + 10 points, EU default + 8 points, DE
Basiszinssatz + 9 points, GB Bank Rate on 31 Dec / 30 Jun before the debt fell late + 8 points.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources

import pytest

from amiable_rules.late_fees import (
    AmountDue,
    DueLine,
    LateFeeRules,
    Movement,
    Suspension,
    Terms,
    amount_due,
    half_year_start,
)

RULES = LateFeeRules.load()
D = Decimal
DUE = date(2026, 1, 15)


def due(
    *,
    principal: str = "10000.00",
    currency: str = "EUR",
    due_on: date = DUE,
    law: str = "FR",
    terms: Terms | None = None,
    movements: tuple[Movement, ...] = (),
    as_of: date,
    **kwargs: object,
) -> AmountDue:
    return amount_due(
        principal=D(principal),
        currency=currency,
        due_on=due_on,
        movements=movements,
        as_of=as_of,
        rule=RULES.resolve(law, terms),
        **kwargs,  # type: ignore[arg-type]
    )


def pay(on: date, amount: str) -> Movement:
    return Movement(on=on, kind="payment", amount=D(amount))


def interest_lines(result: AmountDue) -> list[DueLine]:
    return [line for line in result.lines if line.kind == "interest"]


def fee_line(result: AmountDue) -> DueLine:
    (line,) = [line for line in result.lines if line.kind == "fixed_fee"]
    return line


def test_data_files_parse_and_say_when_they_were_checked() -> None:
    data = resources.files("amiable_rules").joinpath("data")
    raw = json.loads(data.joinpath("late_payment_rules.json").read_text(encoding="utf-8"))
    # A data date, not a date relative to today: the day someone last checked the sources.
    assert date.fromisoformat(raw["last_checked"]) >= date(2026, 11, 24)
    assert all(entry["source"] for entry in raw["laws"].values())
    for spec in raw["rate_series"].values():
        csv_text = data.joinpath(spec["file"]).read_text(encoding="utf-8")
        assert csv_text.startswith("# last_checked: 20"), spec["file"]

    assert RULES.last_checked == date(2026, 11, 30)
    assert RULES.default == "EU"
    assert set(RULES.entries) == {"EU", "FR", "DE", "GB", "none"}
    series = RULES.series["ECB_MRO"]
    assert series.last_checked == date(2026, 11, 24)
    assert series.rows[0] == (date(2016, 3, 16), D("0.00"))
    assert len(series.rows) == 19
    assert RULES.series["DE_BASISZINSSATZ"].last_checked == date(2026, 11, 24)
    assert RULES.series["BOE_BANK_RATE"].last_checked == date(2025, 12, 31)
    assert LateFeeRules.load() is RULES  # cached


@pytest.mark.parametrize(
    ("reference_date", "rate"),
    [
        (date(2023, 1, 1), "2.50"),  # last change before: 2022-12-21
        (date(2023, 7, 1), "4.00"),  # 2023-06-21
        (date(2024, 1, 1), "4.50"),  # 2023-09-20
        (date(2024, 7, 1), "4.25"),  # 2024-06-12
        (date(2025, 1, 1), "3.15"),  # 2024-12-18
        (date(2025, 7, 1), "2.15"),  # 2025-06-11
        (date(2026, 1, 1), "2.15"),  # 2025-06-11, unchanged since
    ],
)
def test_ecb_rate_on_the_domain_reference_dates(reference_date: date, rate: str) -> None:
    fr = RULES.resolve("FR").interest
    assert fr is not None and fr.series is not None
    assert fr.series.in_force_on(reference_date) == D(rate)
    # any day of the half-year uses the rate in force on its first day
    mid_half_year = reference_date.replace(month=reference_date.month + 4, day=20)
    assert fr.reference_day(mid_half_year, DUE) == reference_date
    assert fr.rate(mid_half_year, DUE) == D(rate) + 10


def test_fr_penalty_rate_h2_2025_and_h1_2026_is_12_15() -> None:
    fr = RULES.resolve("FR").interest
    assert fr is not None
    assert fr.rate(date(2025, 9, 1), DUE) == fr.rate(date(2026, 3, 1), DUE) == D("12.15")


def test_interest_across_1_july_uses_each_half_year_rate() -> None:
    """EUR 10,000 due 2024-06-15, as of 2024-07-20 (FR).

    H1 2024: ECB 4.50% on 1 Jan -> 14.50%; 2024-06-16..06-30 = 15 days:
        10000 x 14.50% x 15/365 = 21750/365 = 59.5890... -> 59.59
    H2 2024: ECB 4.25% on 1 Jul -> 14.25%; 2024-07-01..07-20 = 20 days:
        10000 x 14.25% x 20/365 = 28500/365 = 78.0821... -> 78.08
    interest 137.67 + fee 40.00 + principal 10000.00 = 10177.67
    """
    result = due(due_on=date(2024, 6, 15), as_of=date(2024, 7, 20))
    assert interest_lines(result) == [
        DueLine(
            "interest",
            D("59.59"),
            "14.50% (ECB 4.50% + 10 pts) on 10000.00 from 2024-06-16 to 2024-06-30, 15 days",
        ),
        DueLine(
            "interest",
            D("78.08"),
            "14.25% (ECB 4.25% + 10 pts) on 10000.00 from 2024-07-01 to 2024-07-20, 20 days",
        ),
    ]
    assert result.interest == result.interest_accrued == D("137.67")
    assert result.fixed_fee == D("40.00")
    assert result.total == D("10177.67")
    assert result.rule == "FR: ECB MRO + 10 pts, half-year reference rate, actual/365"


def test_worked_example_eur_10000_due_15_january_paid_30_september_2026() -> None:
    """The issue's worked example: EUR 10,000.00 due 2026-01-15, FR rules, as of 2026-09-30.

    Rate: H1 2026 = ECB 2.15% (in force on 2026-01-01) + 10 = 12.15%; H2 2026 = ECB 2.15%
    (in force on 2026-07-01: ecb_rates.csv lists no change after 2025-06-11) + 10 = 12.15%.
      2026-01-16..2026-06-30 = 16+28+31+30+31+30 = 166 days:
          10000 x 12.15% x 166/365 = 201690/365 = 552.5753... -> 552.58
      2026-07-01..2026-09-30 = 31+31+30 = 92 days:
          10000 x 12.15% x  92/365 = 111780/365 = 306.2465... -> 306.25
      interest = 858.83 (the unrounded 10000 x 12.15% x 258/365 = 858.8219...: each half-year
      line is rounded on its own, so the itemised lines add up to the total; 1 cent more)
      fixed fee (D441-5) = 40.00

    Before the payment is taken into account (no movements):
      principal 10000.00 + interest 858.83 + fee 40.00 = total 10898.83
    With the payment of 10000.00 on 2026-09-30 (interest for 30 September counts, the payment
    takes effect at the end of its value date), fees and interest first:
      40.00 to the fee, 858.83 to interest, 9101.17 to principal
      -> principal 898.83 outstanding (= fee + interest), interest 0, fee 0, total 898.83
    """
    before = due(as_of=date(2026, 9, 30))
    assert [line.amount for line in before.lines] == [
        D("10000.00"),
        D("552.58"),
        D("306.25"),
        D("40.00"),
    ]
    assert interest_lines(before)[0].note == (
        "12.15% (ECB 2.15% + 10 pts) on 10000.00 from 2026-01-16 to 2026-06-30, 166 days"
    )
    assert interest_lines(before)[1].note == (
        "12.15% (ECB 2.15% + 10 pts) on 10000.00 from 2026-07-01 to 2026-09-30, 92 days"
    )
    assert (before.principal_outstanding, before.interest, before.fixed_fee) == (
        D("10000.00"),
        D("858.83"),
        D("40.00"),
    )
    assert before.total == D("10898.83")
    assert (before.paid, before.overpaid) == (D("0.00"), D("0.00"))

    after = due(as_of=date(2026, 9, 30), movements=(pay(date(2026, 9, 30), "10000.00"),))
    assert interest_lines(after) == interest_lines(before)
    assert after.principal_outstanding == D("898.83")
    assert (after.interest, after.fixed_fee) == (D("0.00"), D("0.00"))
    assert after.total == D("898.83")
    assert after.interest_accrued == D("858.83")
    assert (after.paid, after.overpaid) == (D("10000.00"), D("0.00"))
    assert after.lines[0].note == (
        "invoice principal 10000.00; paid to principal 9101.17; outstanding 898.83"
    )


def test_a_back_dated_payment_changes_every_later_answer() -> None:
    """EUR 10,000 due 2026-01-15, FR 12.15%, asked as of 2026-03-31.

    Before the payment is logged: 2026-01-16..03-31 = 16+28+31 = 75 days:
        10000 x 12.15% x 75/365 = 91125/365 = 249.6575... -> 249.66; total 10289.66
    Then a payment of 5000.00 value-dated 2026-02-15 is logged (after a later-dated one):
        2026-01-16..02-15 = 31 days on 10000: 37665/365 = 103.1917... -> 103.19
        5000.00 -> fee 40.00, interest 103.19, principal 4856.81 -> principal 5143.19
        2026-02-16..03-31 = 13+31 = 44 days on 5143.19:
            5143.19 x 12.15% x 44/365 = 27495.49374/365 = 75.3301... -> 75.33
        principal 5143.19 + interest 75.33 (fee paid) = 5218.52
    """
    before = due(as_of=date(2026, 3, 31))
    assert before.interest == D("249.66")
    assert before.total == D("10289.66")

    back_dated = due(as_of=date(2026, 3, 31), movements=(pay(date(2026, 2, 15), "5000.00"),))
    assert [line.amount for line in interest_lines(back_dated)] == [D("103.19"), D("75.33")]
    assert back_dated.principal_outstanding == D("5143.19")
    assert (back_dated.interest, back_dated.fixed_fee) == (D("75.33"), D("0.00"))
    assert back_dated.total == D("5218.52")

    # Log order: 1000.00 value 2026-03-20 first, then the 5000.00 back-dated to 2026-02-15.
    # Replayed by value date: 5000.00 on 02-15 as above (principal 5143.19), then
    #   2026-02-16..03-20 = 13+20 = 33 days on 5143.19:
    #       5143.19 x 12.15% x 33/365 = 20621.620305/365 = 56.4976... -> 56.50
    #   1000.00 -> interest 56.50, principal 943.50 -> principal 4199.69
    #   2026-03-21..03-31 = 11 days on 4199.69:
    #       4199.69 x 12.15% x 11/365 = 5612.885685/365 = 15.3778... -> 15.38
    #   total 4199.69 + 15.38 = 4215.07
    log = (pay(date(2026, 3, 20), "1000.00"), pay(date(2026, 2, 15), "5000.00"))
    both = due(as_of=date(2026, 3, 31), movements=log)
    assert [line.amount for line in interest_lines(both)] == [
        D("103.19"),
        D("56.50"),
        D("15.38"),
    ]
    assert both.principal_outstanding == D("4199.69")
    assert both.total == D("4215.07")
    # The earlier as_of (2026-02-10) ignores both payments (dated after it):
    #   2026-01-16..02-10 = 16+10 = 26 days: 31590/365 = 86.5479... -> 86.55
    early = due(as_of=date(2026, 2, 10), movements=log)
    assert (early.interest, early.paid, early.total) == (D("86.55"), D("0.00"), D("10126.55"))


def test_overpayment_is_a_credit_balance_never_an_error() -> None:
    """EUR 1,000 due 2026-01-15, 1500.00 paid on 2026-01-31 (FR 12.15%).

    2026-01-16..01-31 = 16 days: 1000 x 12.15% x 16/365 = 1944/365 = 5.3260... -> 5.33
    1500.00 -> fee 40.00, interest 5.33, principal 1000.00, overpaid 454.67
    Nothing accrues afterwards (principal 0), so as of 2026-06-30 the same.
    """
    result = due(
        principal="1000.00",
        as_of=date(2026, 6, 30),
        movements=(pay(date(2026, 1, 31), "1500.00"),),
    )
    assert (result.principal_outstanding, result.interest, result.fixed_fee) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )
    assert result.total == D("0.00")
    assert result.overpaid == D("454.67")
    assert (result.interest_accrued, result.paid) == (D("5.33"), D("1500.00"))
    assert len(interest_lines(result)) == 1


def test_a_credit_note_reduces_principal_and_its_excess_is_overpaid() -> None:
    """EUR 1,000 due 2026-01-15; credit note 1200.00 dated 2026-01-10 (before the due date).

    Principal 0 from 2026-01-10: no interest, no fee (nothing was late), overpaid 200.00.
    """
    credit = Movement(on=date(2026, 1, 10), kind="credit", amount=D("1200.00"))
    result = due(principal="1000.00", as_of=date(2026, 2, 28), movements=(credit,))
    assert (result.principal_outstanding, result.total, result.overpaid) == (
        D("0.00"),
        D("0.00"),
        D("200.00"),
    )
    assert result.interest_accrued == D("0.00")
    assert result.lines[0] == DueLine(
        "principal",
        D("0.00"),
        "invoice principal 1000.00, less credit notes 1000.00; paid to principal 0.00; "
        "outstanding 0.00",
    )
    assert fee_line(result).note == "no fixed fee: nothing was outstanding after the due date"


def test_principal_first_versus_fees_interest_first() -> None:
    """EUR 10,000 due 2026-01-15, 5000.00 paid 2026-03-31, as of 2026-06-30 (FR 12.15%).

    2026-01-16..03-31 = 75 days on 10000: 249.66 (see the back-dated test); fee 40.00.
    fees_interest_first: 5000 -> fee 40.00, interest 249.66, principal 4710.34 -> 5289.66
        2026-04-01..06-30 = 30+31+30 = 91 days on 5289.66:
        5289.66 x 12.15% x 91/365 = 58485.12579/365 = 160.2332... -> 160.23
        principal 5289.66 + interest 160.23 + fee 0 = 5449.89; accrued 409.89
    principal_first: 5000 -> principal 5000.00 (interest 249.66 and fee 40.00 stay)
        91 days on 5000: 5000 x 12.15% x 91/365 = 55282.5/365 = 151.4589... -> 151.46
        principal 5000.00 + interest 401.12 + fee 40.00 = 5441.12; accrued 401.12
    """
    movements = (pay(date(2026, 3, 31), "5000.00"),)
    fees_first = due(as_of=date(2026, 6, 30), movements=movements)
    assert (fees_first.principal_outstanding, fees_first.interest, fees_first.fixed_fee) == (
        D("5289.66"),
        D("160.23"),
        D("0.00"),
    )
    assert (fees_first.total, fees_first.interest_accrued) == (D("5449.89"), D("409.89"))

    principal_first = due(
        as_of=date(2026, 6, 30), movements=movements, allocation="principal_first"
    )
    assert (
        principal_first.principal_outstanding,
        principal_first.interest,
        principal_first.fixed_fee,
    ) == (D("5000.00"), D("401.12"), D("40.00"))
    assert (principal_first.total, principal_first.interest_accrued) == (
        D("5441.12"),
        D("401.12"),
    )


def test_a_suspension_stops_accrual() -> None:
    """EUR 10,000 due 2026-01-15, plan respected 2026-02-01..02-28, as of 2026-03-31 (12.15%).

    2026-01-16..01-31 = 16 days: 19440/365 = 53.2602... -> 53.26
    2026-02-01..02-28 = 28 days suspended: 0.00
    2026-03-01..03-31 = 31 days: 37665/365 = 103.1917... -> 103.19
    interest 156.45 (instead of 249.66 without the suspension)
    Open-ended from 2026-03-01: 2026-01-16..02-28 = 44 days: 53460/365 = 146.4657... -> 146.47
    """
    closed = due(
        as_of=date(2026, 3, 31),
        suspensions=(Suspension(start=date(2026, 2, 1), end=date(2026, 2, 28)),),
    )
    assert [line.amount for line in interest_lines(closed)] == [
        D("53.26"),
        D("0.00"),
        D("103.19"),
    ]
    assert interest_lines(closed)[1].note == (
        "no interest: suspended from 2026-02-01 to 2026-02-28, 28 days (on 10000.00)"
    )
    assert closed.interest == D("156.45")
    assert closed.total == D("10196.45")

    running = due(
        as_of=date(2026, 3, 31), suspensions=(Suspension(start=date(2026, 3, 1), end=None),)
    )
    assert [line.amount for line in interest_lines(running)] == [D("146.47"), D("0.00")]
    assert running.interest == D("146.47")


def test_a_non_eur_claim_gets_no_fixed_fee_and_says_why() -> None:
    """USD 10,000 due 2026-01-15, FR, as of 2026-01-31: 16 days at 12.15% -> 53.26; no fee.

    JPY has no minor unit: JPY 1,000,000 x 12.15% x 16/365 = 1944000/365 = 5326.02... -> 5326.
    """
    usd = due(currency="USD", as_of=date(2026, 1, 31))
    assert usd.interest == D("53.26")
    assert usd.fixed_fee == D("0.00")
    assert fee_line(usd) == DueLine(
        "fixed_fee", D("0.00"), "no fixed fee: the FR rule sets it in EUR only, none for USD"
    )
    assert usd.total == D("10053.26")

    jpy = due(principal="1000000", currency="JPY", as_of=date(2026, 1, 31))
    assert (jpy.interest, jpy.fixed_fee, jpy.total) == (D("5326"), D("0"), D("1005326"))


def test_the_law_of_an_eu_member_state_without_its_own_entry_uses_the_eu_default() -> None:
    """EUR 10,000 due 2026-01-15, Italian law, as of 2026-01-31: ECB 2.15% + 8 = 10.15%.

    16 days: 10000 x 10.15% x 16/365 = 16240/365 = 44.4931... -> 44.49; EUR 40 compensation.
    """
    result = due(law="IT", as_of=date(2026, 1, 31))
    assert interest_lines(result) == [
        DueLine(
            "interest",
            D("44.49"),
            "10.15% (ECB 2.15% + 8 pts) on 10000.00 from 2026-01-16 to 2026-01-31, 16 days",
        )
    ]
    assert result.fixed_fee == D("40.00")
    assert result.total == D("10084.49")
    assert result.rule == (
        "EU default for IT (no entry of its own): ECB MRO + 8 pts, half-year reference rate, "
        "actual/365"
    )
    assert (result.law, result.entry) == ("IT", "EU")
    assert result.source.startswith("Directive 2011/7/EU")


def test_nothing_accrues_on_or_before_the_due_date() -> None:
    result = due(as_of=DUE)
    assert (result.interest, result.fixed_fee, result.total) == (
        D("0.00"),
        D("0.00"),
        D("10000.00"),
    )
    assert interest_lines(result) == []
    assert fee_line(result).note == "fixed fee not yet due: due from 2026-01-16"


def test_fee_not_applicable_is_zero_with_a_reason() -> None:
    """16 days at 12.15% -> 53.26 (see the suspension test); no fee."""
    result = due(as_of=date(2026, 1, 31), fee_applies=False)
    assert (result.interest, result.fixed_fee, result.total) == (
        D("53.26"),
        D("0.00"),
        D("10053.26"),
    )
    assert fee_line(result).note.startswith("no fixed fee: not applicable")


def test_a_fee_falling_due_on_or_after_the_waiver_is_not_due() -> None:
    """Due 2026-01-15, so the fee falls due on 2026-01-16: a waiver from that very day (or
    earlier) removes it; 16 days of interest at 12.15% (53.26) stay."""
    for waived_from in (date(2026, 1, 16), date(2025, 12, 1)):
        result = due(as_of=date(2026, 1, 31), fee_waived_from=waived_from)
        assert (result.interest, result.fixed_fee, result.total) == (
            D("53.26"),
            D("0.00"),
            D("10053.26"),
        )
        assert fee_line(result).note == (
            f"no fixed fee: waived from {waived_from.isoformat()} (collective proceedings bar "
            "paying it, D441-5); it would have fallen due on 2026-01-16"
        )


def test_a_fee_due_before_the_waiver_stays_due() -> None:
    """Proceedings opening the day after the fee fell due do not take it back."""
    result = due(as_of=date(2026, 1, 31), fee_waived_from=date(2026, 1, 17))
    assert (result.fixed_fee, result.total) == (D("40.00"), D("10093.26"))


def test_a_payment_after_a_waiver_goes_to_interest_then_principal() -> None:
    """fees_interest_first with no fee due: 1,000.00 on 2026-01-31 pays the 53.26 of interest,
    then 946.74 of principal."""
    result = due(
        as_of=date(2026, 1, 31),
        movements=(Movement(date(2026, 1, 31), "payment", D("1000.00")),),
        fee_waived_from=date(2026, 1, 10),
    )
    assert (result.principal_outstanding, result.interest, result.fixed_fee) == (
        D("9053.26"),
        D("0.00"),
        D("0.00"),
    )


def test_a_half_year_after_last_checked_is_flagged_for_verification() -> None:
    """The rate of the first half-year that starts after the shipped table's last check is not
    verified yet: said on that half-year's line, not on the one before. Derived from the table,
    so refreshing it (a new row, a later check) keeps the test true."""
    series = RULES.entries["FR"].interest.series
    checked = series.last_checked
    current = half_year_start(checked)
    unverified = date(current.year, 7, 1) if current.month == 1 else date(current.year + 1, 1, 1)
    result = due(due_on=checked - timedelta(days=30), as_of=unverified + timedelta(days=4))
    assert "not verified" not in interest_lines(result)[-2].note
    assert interest_lines(result)[-1].note.endswith(
        f"(rate in force on {unverified.isoformat()} not verified: "
        f"{series.file} last checked {checked.isoformat()})"
    )


def test_a_claim_due_before_the_rate_table_gets_its_first_rate_and_says_so() -> None:
    """Registration refuses such a claim now; one registered before must still be computable."""
    first_day, first_rate = RULES.entries["FR"].interest.series.rows[0]
    result = due(due_on=date(2015, 1, 15), as_of=date(2015, 3, 31))
    [line] = interest_lines(result)
    assert result.interest > 0
    assert line.note.startswith(f"{first_rate + 10:.2f}%")
    assert f"which starts on {first_day.isoformat()}: its first rate applied" in line.note


def test_lines_add_up() -> None:
    movements = (pay(date(2026, 3, 31), "5000.00"), pay(date(2026, 5, 2), "700.00"))
    result = due(as_of=date(2026, 12, 31), movements=movements)
    assert sum(line.amount for line in result.lines) - result.paid == result.total
    assert result.interest_accrued == sum(line.amount for line in interest_lines(result))


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="decimal digits"):
        due(principal="10.001", as_of=DUE)
    with pytest.raises(TypeError):
        amount_due(
            principal=10000.0,  # type: ignore[arg-type]
            currency="EUR",
            due_on=DUE,
            movements=(),
            as_of=DUE,
            rule=RULES.resolve("FR"),
        )
    with pytest.raises(ValueError, match="currency"):
        due(currency="XXQ", as_of=DUE)
    with pytest.raises(ValueError, match="allocation"):
        due(as_of=DUE, allocation="whatever")


def test_rules_parse_refuses_unsorted_rates() -> None:
    rules = {
        "last_checked": "2026-11-24",
        "default": "EU",
        "eu_member_states": ["IT"],
        "rate_series": {"S": {"file": "r.csv", "label": "S"}},
        "laws": {
            "EU": {
                "interest": {"reference_rate_series": "S", "margin_points": "8"},
                "source": "x",
            },
            "none": {"source": "no statute"},
        },
    }
    good = "# last_checked: 2026-11-24\neffective_from,rate_percent\n2020-01-01,1\n2021-01-01,2\n"
    interest = LateFeeRules.parse(rules, {"r.csv": good}).resolve("IT").interest
    assert interest is not None
    assert interest.rate(date(2021, 3, 1), date(2021, 3, 1)) == D(10)
    bad = "# last_checked: 2026-11-24\neffective_from,rate_percent\n2021-01-01,2\n2020-01-01,1\n"
    with pytest.raises(ValueError, match="ascending"):
        LateFeeRules.parse(rules, {"r.csv": bad})
    with pytest.raises(ValueError, match="last_checked"):
        LateFeeRules.parse(rules, {"r.csv": good.split("\n", 1)[1]})


def test_rules_parse_refuses_conventions_it_does_not_implement() -> None:
    csv = "# last_checked: 2026-11-24\neffective_from,rate_percent\n2020-01-01,1\n"

    def parse(law: dict, series: dict | None = None, text: str = csv) -> LateFeeRules:
        return LateFeeRules.parse(
            {
                "last_checked": "2026-11-24",
                "default": "EU",
                "rate_series": {"S": {"file": "r.csv", "label": "S", **(series or {})}},
                "laws": {
                    "EU": {"source": "x", **law},
                    "none": {"source": "no statute"},
                },
            },
            {"r.csv": text},
        )

    interest = {"reference_rate_series": "S", "margin_points": "8"}
    with pytest.raises(ValueError, match="reference_date"):
        parse({"interest": {**interest, "reference_date": "first_business_day"}})
    with pytest.raises(ValueError, match="period"):
        parse({"interest": {**interest, "period": "monthly"}})
    with pytest.raises(ValueError, match="day_count"):
        parse({"interest": interest, "day_count": "30/360"})
    with pytest.raises(ValueError, match="no 'below'"):
        parse({"fixed_fee": {"GBP": [{"below": "1000", "amount": "40"}]}})
    with pytest.raises(ValueError, match="ascend"):
        parse(
            {
                "fixed_fee": {
                    "GBP": [
                        {"below": "1000", "amount": "40"},
                        {"below": "500", "amount": "70"},
                        {"amount": "100"},
                    ]
                }
            }
        )
    with pytest.raises(ValueError, match="1 Jan / 1 Jul"):
        parse(
            {"interest": interest},
            {"changes_on_half_year_days": True},
            csv + "2020-03-01,2\n",
        )
