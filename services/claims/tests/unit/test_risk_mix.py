"""The risk mix: debtors with claims open at a date, by the grade and segment of their latest
assessment, with their open balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from amiable_claims.domain.kpis import ClaimFacts
from amiable_claims.domain.risk_mix import Assessment, debtor_balances, groups, mix

D = Decimal
AS_OF = date(2026, 6, 30)


def claim(amount: str, *, currency: str = "EUR", issued_on=date(2026, 3, 1), **changes):
    values = dict(
        claim_id=f"c-{amount}",
        currency=currency,
        amount=D(amount),
        issued_on=issued_on,
        due_on=date(2026, 3, 31),
        registered_on=date(2026, 4, 15),
        payments=(),
        credits=(),
        closed_on=None,
        closed_as=None,
    )
    values.update(changes)
    return ClaimFacts(**values)


def lines(found, by: str) -> dict[str, tuple[int, str]]:
    """The lines with debtors, as key -> (debtors, open balance)."""
    key = "grade" if by == "by_grade" else "segment"
    return {
        line[key]: (line["debtors"], line["open_balance"])
        for line in found.as_dict()[by]
        if line["debtors"]
    }


def test_each_debtor_counts_once_under_its_grade_and_segment_with_its_open_balance():
    claims = [
        ("D-1", claim("1000.00")),
        ("D-1", claim("500.00", payments=((date(2026, 5, 1), D("200.00")),))),
        ("D-2", claim("800.00")),
        ("D-3", claim("300.00")),  # never assessed
        ("D-4", claim("900.00", closed_on=date(2026, 6, 1), closed_as="settled")),
        ("D-5", claim("700.00", issued_on=date(2026, 7, 1))),  # not issued yet
        ("D-6", claim("100.00", currency="USD")),
    ]
    assessed = {
        "D-1": Assessment("B", "reliable"),
        "D-2": Assessment("B", "chronic_late_payer"),
        "D-4": Assessment("E", "high_risk"),
    }
    balances = debtor_balances(claims, AS_OF, "EUR")
    assert balances == {"D-1": D("1300.00"), "D-2": D("800.00"), "D-3": D("300.00")}
    found = mix("EUR", AS_OF, groups(balances, assessed))
    assert lines(found, "by_grade") == {"B": (2, "2100.00"), "unassessed": (1, "300.00")}
    assert lines(found, "by_segment") == {
        "reliable": (1, "1300.00"),
        "chronic_late_payer": (1, "800.00"),
        "unassessed": (1, "300.00"),
    }


def test_every_grade_and_segment_has_a_line_in_order():
    found = mix("JPY", AS_OF, []).as_dict()
    assert [line["grade"] for line in found["by_grade"]] == ["A", "B", "C", "D", "E", "unassessed"]
    assert found["by_segment"][-1] == {"segment": "unassessed", "debtors": 0, "open_balance": "0"}
    assert found["by_segment"][0]["segment"] == "new_customer"
    assert found["as_of"] == "2026-06-30"


def test_an_assessment_without_a_grade_is_unassessed():
    """A debtor claims knows only through its proceedings has no grade yet."""
    found = mix("EUR", AS_OF, groups({"D-1": D("10.5")}, {"D-1": Assessment(None, None)}))
    assert lines(found, "by_grade") == {"unassessed": (1, "10.50")}
