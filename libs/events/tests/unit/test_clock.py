from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from amiable_events.clock import (
    AcceleratedClock,
    FrozenClock,
    SystemClock,
    clock_from_setting,
)


def test_frozen_clock_moves_only_when_told():
    clock = clock_from_setting("frozen:2026-01-15T00:00:00Z")
    assert isinstance(clock, FrozenClock)
    assert clock.now() == datetime(2026, 1, 15, tzinfo=UTC)
    clock.advance(timedelta(days=2))
    assert clock.now() == datetime(2026, 1, 17, tzinfo=UTC)


def test_accelerated_clocks_agree_without_talking():
    real = FrozenClock(datetime(2026, 1, 1, 1, 0, tzinfo=UTC))
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    first = AcceleratedClock(epoch, 60, real)
    second = AcceleratedClock(epoch, 60, real)
    assert first.now() == second.now() == epoch + timedelta(hours=60)


def test_accelerated_setting_is_parsed():
    clock = clock_from_setting("accelerated:2025-03-03T08:00:00+00:00:1440")
    assert isinstance(clock, AcceleratedClock)
    assert clock.speed == 1440
    assert clock.epoch == datetime(2025, 3, 3, 8, tzinfo=UTC)


def test_default_is_the_system_clock():
    assert isinstance(clock_from_setting(None), SystemClock)


@pytest.mark.parametrize("value", ["warp:9", "accelerated:2026-01-01T00:00:00Z:-1", "frozen:soon"])
def test_bad_settings_are_refused(value):
    with pytest.raises(ValueError):
        clock_from_setting(value)
