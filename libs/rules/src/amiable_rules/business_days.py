"""A debtor's business days: not its country's weekend, not one of its public holidays.

Nothing that reaches a debtor, or re-scores it, is scheduled on a day its offices are closed.
The calendars come from the ``holidays`` package (national holidays; regional ones are left out:
a claim records a country, not a region). A country it does not know has a Saturday-Sunday
weekend and no holidays.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

SATURDAY_SUNDAY = frozenset({5, 6})
#: A run of closed days longer than this means a calendar is wrong, not a long holiday.
MAX_CLOSED_RUN = 31


_KNOWN = frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=256)
def _calendar(country: str | None) -> holidays.HolidayBase | None:
    return holidays.country_holidays(country) if country in _KNOWN else None


def is_business_day(day: date, country: str | None) -> bool:
    calendar = _calendar(country)
    if calendar is None:
        return day.weekday() not in SATURDAY_SUNDAY
    # ``in`` fills the calendar with the day's year on first use (an empty one is falsy)
    return day.weekday() not in calendar.weekend and day not in calendar


def next_business_day(day: date, country: str | None) -> date:
    """``day`` itself when it is a business day in ``country``, else the first one after it."""
    for offset in range(MAX_CLOSED_RUN + 1):
        candidate = day + timedelta(days=offset)
        if is_business_day(candidate, country):
            return candidate
    raise ValueError(f"no business day in {country} within {MAX_CLOSED_RUN} days of {day}")
