"""A debtor's business days: its country's weekend and public holidays."""

from __future__ import annotations

from datetime import date

from amiable_rules.business_days import is_business_day, next_business_day


def test_business_days_follow_each_country_s_weekend_and_holidays():
    assert not is_business_day(date(2026, 12, 25), "FR")  # Christmas
    assert not is_business_day(date(2026, 5, 1), "DE")
    assert is_business_day(date(2026, 7, 4), "FR") is False  # a Saturday
    assert next_business_day(date(2026, 12, 25), "FR") == date(2026, 12, 28)
    # Saudi Arabia's weekend is Friday and Saturday
    assert not is_business_day(date(2026, 12, 4), "SA") and is_business_day(date(2026, 12, 6), "SA")
    # a country the calendars do not know: Saturday and Sunday only
    assert next_business_day(date(2026, 12, 26), "ZZ") == date(2026, 12, 28)
