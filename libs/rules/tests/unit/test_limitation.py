"""Limitation: the period runs from the due date or the last interrupting event."""

from __future__ import annotations

from datetime import date

from amiable_rules.limitation import LimitationRules, add_years, prescription_date, warning_date

RULES = LimitationRules.load()


def test_the_data_file_is_dated_and_has_sources() -> None:
    assert RULES.last_checked == date(2026, 11, 30)
    assert all(rule.source for rule in RULES.rules.values())
    assert LimitationRules.load() is RULES


def test_french_law_five_years_from_the_last_acknowledgement_or_payment() -> None:
    fr = RULES.for_law("FR")
    assert fr.years == 5
    assert prescription_date(fr, due_on=date(2026, 1, 15)) == date(2031, 1, 15)
    assert prescription_date(
        fr,
        due_on=date(2026, 1, 15),
        acknowledgements=[date(2027, 3, 1)],
        payments=[date(2026, 6, 1)],
    ) == date(2032, 3, 1)
    assert warning_date(fr, date(2031, 1, 15)) == date(2030, 10, 17)


def test_a_law_without_an_entry_uses_the_default() -> None:
    assert RULES.for_law("IN") == RULES.rules[RULES.default]


def test_29_february_plus_years_is_28_february() -> None:
    assert add_years(date(2028, 2, 29), 5) == date(2033, 2, 28)


def test_german_law_three_years_from_the_end_of_the_year_restarted_by_acknowledgement() -> None:
    """BGB 195/199: due 2026-01-15 -> runs from 2026-12-31 -> ends 2029-12-31; an
    acknowledgement on 2027-03-01 starts it again that day (212): 2030-03-01."""
    de = RULES.for_law("DE")
    assert prescription_date(de, due_on=date(2026, 1, 15)) == date(2029, 12, 31)
    assert prescription_date(
        de, due_on=date(2026, 1, 15), acknowledgements=[date(2027, 3, 1)]
    ) == date(2030, 3, 1)


def test_english_law_six_years_from_the_due_date() -> None:
    assert prescription_date(RULES.for_law("GB"), due_on=date(2026, 1, 15)) == date(2032, 1, 15)
