from datetime import UTC, datetime

from amiable_rules.local_time import zone


def test_a_known_zone_and_the_utc_fallback():
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert moment.astimezone(zone("Asia/Kolkata")).hour == 17  # UTC+5:30
    for unknown in ("Mars/Olympus", "", None, "../etc/passwd"):
        assert zone(unknown).utcoffset(moment).total_seconds() == 0
