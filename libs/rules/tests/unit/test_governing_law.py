"""The rule follows the governing law and the contract's terms: every figure worked by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from amiable_rules.governing_law import GoverningLaws
from amiable_rules.late_fees import (
    PRINCIPAL_ONLY,
    AmountDue,
    ContractualInterest,
    DueLine,
    LateFeeRules,
    Movement,
    Terms,
    amount_due,
    open_principal,
)

RULES = LateFeeRules.load()
D = Decimal


def due(
    law: str,
    *,
    principal: str = "10000.00",
    currency: str = "EUR",
    due_on: date = date(2026, 1, 15),
    as_of: date,
    terms: Terms | None = None,
    movements: tuple[Movement, ...] = (),
) -> AmountDue:
    return amount_due(
        principal=D(principal),
        currency=currency,
        due_on=due_on,
        movements=movements,
        as_of=as_of,
        rule=RULES.resolve(law, terms),
    )


def interest(result: AmountDue) -> list[DueLine]:
    return [line for line in result.lines if line.kind == "interest"]


def fee_note(result: AmountDue) -> str:
    return next(line.note for line in result.lines if line.kind == "fixed_fee")


def test_german_law_basiszinssatz_plus_9_points_across_1_july() -> None:
    """EUR 10,000 due 2024-06-15, German law, as of 2024-07-20 (BGB 288(2)).

    H1 2024: Basiszinssatz 3.62% + 9 = 12.62%; 2024-06-16..06-30 = 15 days:
        10000 x 12.62% x 15/365 = 18930/365 = 51.8630... -> 51.86
    H2 2024: Basiszinssatz 3.37% + 9 = 12.37%; 2024-07-01..07-20 = 20 days:
        10000 x 12.37% x 20/365 = 24740/365 = 67.7808... -> 67.78
    interest 119.64 + EUR 40 (288(5)) + 10000.00 = 10159.64
    """
    result = due("DE", due_on=date(2024, 6, 15), as_of=date(2024, 7, 20))
    assert interest(result) == [
        DueLine(
            "interest",
            D("51.86"),
            "12.62% (Basiszinssatz 3.62% + 9 pts) on 10000.00 from 2024-06-16 to 2024-06-30, "
            "15 days",
        ),
        DueLine(
            "interest",
            D("67.78"),
            "12.37% (Basiszinssatz 3.37% + 9 pts) on 10000.00 from 2024-07-01 to 2024-07-20, "
            "20 days",
        ),
    ]
    assert (result.interest, result.fixed_fee, result.total) == (
        D("119.64"),
        D("40.00"),
        D("10159.64"),
    )
    assert result.rule == "DE: Basiszinssatz + 9 pts, half-year reference rate, actual/365"
    assert fee_note(result) == "EUR 40.00 Verzugspauschale (BGB 288(5)), due from 2024-06-16"
    assert result.source.startswith("BGB 288(2)")


def test_german_law_2026_worked_example() -> None:
    """EUR 10,000 due 2026-01-15, German law, as of 2026-09-30: Basiszinssatz 1.27% on
    2026-01-01 and 2026-07-01 -> 10.27%.
        166 days: 10000 x 10.27% x 166/365 = 170482/365 = 467.0739... -> 467.07
         92 days: 10000 x 10.27% x  92/365 =  94484/365 = 258.8602... -> 258.86
    interest 725.93 + fee 40.00 -> total 10765.93
    """
    result = due("DE", as_of=date(2026, 9, 30))
    assert [line.amount for line in interest(result)] == [D("467.07"), D("258.86")]
    assert result.total == D("10765.93")


@pytest.mark.parametrize(
    ("reference_day", "basiszinssatz"),
    [
        (date(2023, 1, 1), "1.62"),
        (date(2023, 7, 1), "3.12"),
        (date(2024, 1, 1), "3.62"),
        (date(2024, 7, 1), "3.37"),
        (date(2025, 1, 1), "2.27"),
        (date(2025, 7, 1), "1.27"),
        (date(2026, 1, 1), "1.27"),
        (date(2026, 7, 1), "1.27"),
    ],
)
def test_basiszinssatz_on_the_domain_reference_dates(reference_day, basiszinssatz) -> None:
    assert RULES.series["DE_BASISZINSSATZ"].in_force_on(reference_day) == D(basiszinssatz)


def test_basiszinssatz_file_agrees_with_the_ecb_file_under_bgb_247() -> None:
    """Since 2016-07-01 the Basiszinssatz is the MRO rate of the last operation before each
    1 January / 1 July minus 0.88 points: the two data files must agree on every half-year."""
    ecb, base = RULES.series["ECB_MRO"], RULES.series["DE_BASISZINSSATZ"]
    day = date(2016, 7, 1)
    while day <= base.last_checked:
        assert base.in_force_on(day) == ecb.in_force_on(day - timedelta(days=1)) - D("0.88"), day
        day = date(day.year + (day.month == 7), 1 if day.month == 7 else 7, 1)


def test_english_law_bank_rate_fixed_when_the_debt_fell_late() -> None:
    """GBP 1,000 due 2024-12-10 (late from 2024-12-11, second half of 2024), English law, as of
    2025-03-31. Reference: Bank Rate on 30 June 2024 = 5.25% -> 13.25%, fixed for the debt
    (the 4.75% in force on 31 Dec 2024 does not apply to it).
        2024-12-11..12-31 = 21 days: 1000 x 13.25% x 21/365 =  2782.5/365 =  7.6232... -> 7.62
        2025-01-01..03-31 = 90 days: 1000 x 13.25% x 90/365 = 11925/365 = 32.6712... -> 32.67
    interest 40.29 + fixed sum GBP 70 (debt 1,000 to 9,999.99) -> total 1110.29
    """
    result = due(
        "GB",
        principal="1000.00",
        currency="GBP",
        due_on=date(2024, 12, 10),
        as_of=date(2025, 3, 31),
    )
    assert interest(result) == [
        DueLine(
            "interest",
            D("7.62"),
            "13.25% (BoE 5.25% + 8 pts) on 1000.00 from 2024-12-11 to 2024-12-31, 21 days",
        ),
        DueLine(
            "interest",
            D("32.67"),
            "13.25% (BoE 5.25% + 8 pts) on 1000.00 from 2025-01-01 to 2025-03-31, 90 days",
        ),
    ]
    assert (result.interest, result.fixed_fee, result.total) == (
        D("40.29"),
        D("70.00"),
        D("1110.29"),
    )
    assert result.rule == (
        "GB: BoE Bank Rate + 8 pts, reference rate on 31 Dec / 30 Jun before the debt fell "
        "late, fixed, actual/365"
    )


def test_english_law_2026_example_and_an_unverified_reference_date() -> None:
    """GBP 5,000 due 2026-01-15, as of 2026-09-30: Bank Rate on 31 Dec 2025 = 3.75% -> 11.75%.
        166 days: 5000 x 11.75% x 166/365 = 97525/365 = 267.1917... -> 267.19
         92 days: 5000 x 11.75% x  92/365 = 54050/365 = 148.0821... -> 148.08
    interest 415.27 + GBP 70 -> total 5485.27. A debt falling late in July 2026 takes the rate
    of 30 June 2026, after boe_bank_rate.csv's last_checked: its lines say so.
    """
    result = due("GB", principal="5000.00", currency="GBP", as_of=date(2026, 9, 30))
    assert [line.amount for line in interest(result)] == [D("267.19"), D("148.08")]
    assert result.total == D("5485.27")
    later = due(
        "GB", principal="5000.00", currency="GBP", due_on=date(2026, 7, 15), as_of=date(2026, 8, 1)
    )
    assert interest(later)[0].note.endswith(
        "(rate in force on 2026-06-30 not verified: boe_bank_rate.csv last checked 2025-12-31)"
    )


@pytest.mark.parametrize(
    ("debt", "fixed_sum"),
    [
        ("999.99", "40.00"),
        ("1000.00", "70.00"),
        ("9999.99", "70.00"),
        ("10000.00", "100.00"),
        ("250000.00", "100.00"),
    ],
)
def test_english_fixed_sum_by_band_of_the_debt(debt: str, fixed_sum: str) -> None:
    result = due("GB", principal=debt, currency="GBP", as_of=date(2026, 1, 16))
    assert result.fixed_fee == D(fixed_sum)
    assert fee_note(result) == (
        f"GBP {fixed_sum} fixed sum (Late Payment of Commercial Debts (Interest) Act 1998 s.5A), "
        f"due from 2026-01-16 (debt {debt})"
    )


def test_the_band_is_the_debt_outstanding_when_it_fell_late() -> None:
    """GBP 12,000 of which 3,000 paid on the due date: 9,000 fell late -> GBP 70."""
    paid = (Movement(date(2026, 1, 15), "payment", D("3000.00")),)
    result = due(
        "GB", principal="12000.00", currency="GBP", as_of=date(2026, 1, 20), movements=paid
    )
    assert result.fixed_fee == D("70.00")


def test_no_statute_means_no_interest_and_no_fee() -> None:
    """A US creditor under US terms, no contractual rate: the principal only."""
    result = due("US", currency="USD", as_of=date(2026, 9, 30))
    assert (result.interest, result.fixed_fee, result.total) == (
        D("0.00"),
        D("0.00"),
        D("10000.00"),
    )
    assert interest(result) == []
    assert fee_note(result) == "no fixed fee: no statute applies and the contract sets none"
    assert result.rule == (
        "none for US (no statutory rule configured): no late interest; no fixed fee"
    )
    assert due("none", as_of=date(2026, 9, 30)).rule == "none: no late interest; no fixed fee"


def test_no_statute_with_a_contractual_rate() -> None:
    """USD 10,000 due 2026-01-15, US law, contract: 12% a year, as of 2026-03-31.

    2026-01-16..03-31 = 75 days: 10000 x 12% x 75/365 = 90000/365 = 246.5753... -> 246.58
    """
    terms = Terms(interest=ContractualInterest("fixed", rate=D("12")))
    result = due("US", currency="USD", as_of=date(2026, 3, 31), terms=terms)
    assert interest(result) == [
        DueLine(
            "interest",
            D("246.58"),
            "12.00% (contractual rate) on 10000.00 from 2026-01-16 to 2026-03-31, 75 days",
        )
    ]
    assert (result.fixed_fee, result.total) == (D("0.00"), D("10246.58"))
    assert result.rule == (
        "none for US (no statutory rule configured): contractual rate 12.00%, actual/365; "
        "no fixed fee"
    )


def test_a_contractual_margin_over_the_laws_reference_rate() -> None:
    """French law, contract: ECB + 5 points -> 7.15% in H1 2026; 16 days:
    10000 x 7.15% x 16/365 = 11440/365 = 31.3424... -> 31.34; the statutory EUR 40 stays."""
    terms = Terms(interest=ContractualInterest("reference_plus", margin=D("5")))
    result = due("FR", as_of=date(2026, 1, 31), terms=terms)
    assert interest(result)[0].note == (
        "7.15% (ECB 2.15% + 5 pts, contractual margin) on 10000.00 from 2026-01-16 to "
        "2026-01-31, 16 days"
    )
    assert (result.interest, result.fixed_fee) == (D("31.34"), D("40.00"))


def test_a_contractual_fixed_fee_replaces_the_statutory_one() -> None:
    """French law, contract: EUR 100 fixed fee; interest stays statutory (16 days at 12.15%
    -> 53.26)."""
    result = due("FR", as_of=date(2026, 1, 31), terms=Terms(fixed_fee=D("100.00")))
    assert (result.interest, result.fixed_fee, result.total) == (
        D("53.26"),
        D("100.00"),
        D("10153.26"),
    )
    assert fee_note(result) == (
        "EUR 100.00 contractual fixed fee (late_payment_terms), due from 2026-01-16"
    )
    assert result.rule.endswith("; contractual fixed fee")
    usd = due("US", currency="USD", as_of=date(2026, 1, 31), terms=Terms(fixed_fee=D("25.00")))
    assert usd.fixed_fee == D("25.00")


def test_terms_that_cannot_apply_are_reported_by_field() -> None:
    no_reference = Terms(interest=ContractualInterest("reference_plus", margin=D("3")))
    assert RULES.terms_errors("US", no_reference) == [
        ("interest.reference", "required: no statutory reference rate under law US")
    ]
    assert (
        RULES.terms_errors(
            "US",
            Terms(
                interest=ContractualInterest("reference_plus", margin=D("3"), reference="ECB_MRO")
            ),
        )
        == []
    )
    assert RULES.terms_errors("FR", Terms(interest=ContractualInterest("fixed"))) == [
        ("interest.rate", "a fixed rate needs rate >= 0 (percent)")
    ]
    assert RULES.law_error("FR") is None and RULES.law_error("none") is None
    assert RULES.law_error("France") is not None


def test_open_principal_is_what_is_owed_before_late_charges() -> None:
    """The same function as the amount due, under no late charge: invoice - credits - payments
    dated up to as_of, floored at 0, whatever the allocation."""
    movements = (
        Movement(date(2026, 2, 10), "payment", D("300.00")),
        Movement(date(2026, 2, 20), "credit", D("100.00")),
        Movement(date(2026, 3, 10), "payment", D("800.00")),
    )
    owed = {
        day: open_principal(principal=D("1000.00"), currency="EUR", movements=movements, as_of=day)
        for day in (date(2026, 1, 1), date(2026, 2, 10), date(2026, 2, 28), date(2026, 3, 10))
    }
    assert list(owed.values()) == [D("1000.00"), D("700.00"), D("600.00"), D("0.00")]
    assert open_principal(principal=D("1000.00"), currency="EUR", movements=movements) == 0


@pytest.mark.parametrize(
    ("principal", "currency"),
    [("1000.00", "EUR"), ("1000", "EUR"), ("0", "JPY"), ("12.345", "KWD"), ("1E+3", "EUR")],
)
def test_open_principal_without_movements_is_the_amount_due_s(principal, currency) -> None:
    """The shortcut for a claim with no payment and no credit note gives what amount_due gives."""
    full = amount_due(
        principal=D(principal),
        currency=currency,
        due_on=date.max,
        movements=(),
        as_of=date.max,
        rule=PRINCIPAL_ONLY,
    ).principal_outstanding
    short = open_principal(principal=D(principal), currency=currency, movements=())
    assert (short, str(short)) == (full, str(full))


@pytest.mark.parametrize(
    ("principal", "currency"), [("10.001", "EUR"), ("-1", "EUR"), ("10", "XZZ"), ("NaN", "EUR")]
)
def test_open_principal_without_movements_refuses_what_amount_due_refuses(
    principal, currency
) -> None:
    with pytest.raises((ValueError, TypeError)) as full:
        amount_due(
            principal=D(principal),
            currency=currency,
            due_on=date.max,
            movements=(),
            as_of=date.max,
            rule=PRINCIPAL_ONLY,
        )
    with pytest.raises(type(full.value), match=str(full.value).split(":")[0]):
        open_principal(principal=D(principal), currency=currency, movements=())


def test_a_claims_own_governing_law_beats_the_tenant_default() -> None:
    laws = GoverningLaws(default="FR", by_tenant={"london-creditor": "GB"})
    assert laws.choose("paris-creditor", None) == ("FR", "service_default")
    assert laws.choose("london-creditor", None) == ("GB", "tenant")
    assert laws.choose("london-creditor", "DE") == ("DE", "claim")
    assert laws.choose("paris-creditor", "none") == ("none", "claim")


def test_terms_from_their_wire_shape() -> None:
    wire = {
        "interest": {"kind": "reference_plus", "margin": "5", "reference": "ECB_MRO"},
        "fixed_fee": "50.00",
    }
    assert Terms.from_mapping(wire) == Terms(
        interest=ContractualInterest("reference_plus", margin=D("5"), reference="ECB_MRO"),
        fixed_fee=D("50.00"),
    )
    assert Terms.from_mapping({"fixed_fee": None}) == Terms()
    assert Terms.from_mapping(None) is None
