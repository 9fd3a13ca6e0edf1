"""The one source of time for every amiable process.

Domain code never reads the wall clock: it is handed ``now``. Wiring builds a clock from
``AMIABLE_CLOCK`` so that tests freeze time and demos move it, and every process that reads the
same setting computes the same moved time without talking to the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    """A clock for tests: time moves only when the test moves it."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current = self.current + delta

    def set(self, moment: datetime) -> None:
        self.current = moment


@dataclass(frozen=True)
class AcceleratedClock:
    """Moved time: ``epoch + (real_now - epoch) * speed``.

    ``epoch`` is the instant at which moved time and real time agree. Because the formula
    depends only on the setting and the real clock, every process agrees on the moved time.
    """

    epoch: datetime
    speed: float
    real: Clock = field(default_factory=SystemClock)

    def now(self) -> datetime:
        return self.epoch + (self.real.now() - self.epoch) * self.speed


def clock_from_setting(value: str | None) -> Clock:
    """``system`` (default), ``frozen:<ISO-8601>`` or ``accelerated:<ISO-8601 epoch>:<speed>``."""
    if not value or value == "system":
        return SystemClock()
    kind, _, rest = value.partition(":")
    if kind == "frozen":
        return FrozenClock(_aware(datetime.fromisoformat(rest)))
    if kind == "accelerated":
        epoch_text, _, speed_text = rest.rpartition(":")
        try:
            speed = float(speed_text)
            epoch = _aware(datetime.fromisoformat(epoch_text))
        except ValueError as exc:
            raise ValueError(f"AMIABLE_CLOCK={value!r}: {exc}") from exc
        if speed <= 0:
            raise ValueError(f"AMIABLE_CLOCK={value!r}: speed must be positive")
        return AcceleratedClock(epoch, speed)
    raise ValueError(
        f"AMIABLE_CLOCK={value!r}: expected system, frozen:<ISO time> or "
        "accelerated:<ISO epoch>:<speed>"
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
