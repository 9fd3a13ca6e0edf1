"""A debtor's local time: its time zone, by the IANA name its claim was registered with."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo:
    """The time zone ``name``; UTC for none, or for one the time-zone database does not know
    (claims validates the name on registration, but the log is read as it is). Cached:
    ``ZoneInfo`` keeps only a few, and a portfolio spans many more."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
