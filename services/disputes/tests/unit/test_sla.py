"""Service levels: the deadlines fixed when a dispute opens (business days and midnight of the
debtor's country and time zone) and the timers that watch them until they are met or missed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from amiable_disputes.domain.commands import Assign
from amiable_disputes.domain.sla import deadlines, file_watches, watches
from amiable_events.clock import AcceleratedClock, FrozenClock
from amiable_events.disputes import DisputeSlaBreached
from tests.disputes_givens import POLICY, claim, in_status, resolve

#: The calendar year the dates below are built in, checked against the weekdays they assume
YEAR = 2026
PARIS = ZoneInfo("Europe/Paris")
BERLIN = ZoneInfo("Europe/Berlin")


def end_of(day: date, zone: ZoneInfo) -> datetime:
    """Midnight ending ``day`` in ``zone``, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def local(day: date, hour: int, zone: ZoneInfo = PARIS) -> datetime:
    return datetime.combine(day, time(hour), zone).astimezone(UTC)


def ledger(country: str = "FR", timezone: str = "Europe/Paris", today: date | None = None):
    case = claim(country=country, timezone=timezone, **({"today": today} if today else {}))
    return case.file.ledger


def test_a_friday_opening_is_acknowledged_by_the_end_of_tuesday():
    friday = date(YEAR, 11, 20)
    assert friday.weekday() == 4
    acknowledge_by, _ = deadlines(ledger(), local(friday, 16), POLICY)
    assert acknowledge_by == end_of(friday + timedelta(days=4), PARIS)
    assert acknowledge_by == datetime(YEAR, 11, 24, 23, tzinfo=UTC)


def test_the_opening_day_is_the_debtors_local_day():
    # Thursday 23:30 UTC is already Friday in Paris: the Friday's deadline
    thursday_night = datetime(YEAR, 11, 19, 23, 30, tzinfo=UTC)
    acknowledge_by, resolve_by = deadlines(ledger(), thursday_night, POLICY)
    assert acknowledge_by == end_of(date(YEAR, 11, 24), PARIS)
    assert resolve_by == end_of(date(YEAR, 11, 20) + timedelta(days=30), PARIS)


def test_a_french_public_holiday_is_no_business_day():
    armistice = date(YEAR, 11, 11)
    assert armistice.weekday() == 2  # a Wednesday
    acknowledge_by, _ = deadlines(ledger(), local(armistice - timedelta(days=1), 10), POLICY)
    # Tuesday -> (Wednesday 11 November closed) Thursday, Friday
    assert acknowledge_by == end_of(armistice + timedelta(days=2), PARIS)


def test_christmas_and_the_weekend_after_it_are_skipped():
    christmas = date(YEAR, 12, 25)
    assert christmas.weekday() == 4  # a Friday
    acknowledge_by, _ = deadlines(ledger(), local(christmas - timedelta(days=1), 18), POLICY)
    # Thursday 24 -> (Friday 25, Saturday, Sunday closed) Monday 28, Tuesday 29
    assert acknowledge_by == end_of(date(YEAR, 12, 29), PARIS)


def test_a_german_only_holiday_counts_for_a_german_debtor_only():
    year = 2028
    unity = date(year, 10, 3)  # Tag der Deutschen Einheit: a working day in France
    assert unity.weekday() == 1  # a Tuesday
    monday = unity - timedelta(days=1)
    german, _ = deadlines(
        ledger("DE", "Europe/Berlin", today=monday), local(monday, 10, BERLIN), POLICY
    )
    french, _ = deadlines(ledger(today=monday), local(monday, 10), POLICY)
    assert german == end_of(date(year, 10, 5), BERLIN)
    assert french == end_of(date(year, 10, 4), PARIS)
    assert german == datetime(year, 10, 5, 22, tzinfo=UTC)  # summer time: UTC+2


def test_the_resolution_ends_the_30th_day_at_local_midnight_across_a_clock_change():
    opened_on = date(YEAR, 10, 10)  # summer time; 30 days later is winter time
    _, resolve_by = deadlines(ledger(), local(opened_on, 9), POLICY)
    assert resolve_by == datetime(YEAR, 11, 9, 23, tzinfo=UTC)


def test_the_deadlines_follow_the_policy():
    friday = date(YEAR, 11, 20)
    rules = replace(POLICY, acknowledge_business_days=5, resolve_days=10)
    acknowledge_by, resolve_by = deadlines(ledger(), local(friday, 10), rules)
    assert acknowledge_by == end_of(date(YEAR, 11, 27), PARIS)
    assert resolve_by == end_of(date(YEAR, 11, 30), PARIS)


def test_an_opened_dispute_carries_its_deadlines():
    friday = datetime(YEAR, 11, 20, 15, tzinfo=UTC)
    case = claim(today=friday.date())
    dispute_id = case.open(now=friday)
    dispute = case.dispute(dispute_id)
    assert (dispute.acknowledge_by, dispute.resolve_by) == deadlines(
        case.file.ledger, friday, POLICY
    )
    assert dispute.acknowledge_by == datetime(YEAR, 11, 24, 23, tzinfo=UTC)


# --- watches ----------------------------------------------------------------------------------


def kinds(dispute) -> list[str]:
    return [watch.which for watch in watches(dispute)]


def test_an_open_dispute_is_watched_for_both_deadlines():
    case, dispute_id = in_status("open")
    dispute = case.dispute(dispute_id)
    [acknowledge, resolution] = watches(dispute)
    assert (acknowledge.which, acknowledge.due_at) == ("acknowledge", dispute.acknowledge_by)
    assert (resolution.which, resolution.due_at) == ("resolve", dispute.resolve_by)
    assert acknowledge.timer_id == f"sla:{dispute_id}:acknowledge"
    assert file_watches(case.file) == [acknowledge, resolution]


@pytest.mark.parametrize("status", ["under_review", "mediation"])
def test_an_assigned_dispute_is_watched_for_its_resolution_only(status):
    case, dispute_id = in_status(status)
    assert kinds(case.dispute(dispute_id)) == ["resolve"]


@pytest.mark.parametrize("status", ["resolved", "withdrawn", "hardship"])
def test_a_closed_dispute_is_watched_no_more(status):
    case, dispute_id = in_status(status)
    assert watches(case.dispute(dispute_id)) == []
    assert file_watches(case.file) == []


@pytest.mark.parametrize("which", ["acknowledge", "resolve"])
def test_a_breached_deadline_is_watched_no_more(which):
    case, dispute_id = in_status("open")
    dispute = case.dispute(dispute_id)
    due_at = dispute.acknowledge_by if which == "acknowledge" else dispute.resolve_by
    breached = DisputeSlaBreached(
        claim_id=case.claim_id, dispute_id=dispute_id, which=which, due_at=due_at
    )
    case.add(breached, due_at)
    case.add(breached, due_at)  # a redelivered breach counts once
    dispute = case.dispute(dispute_id)
    assert dispute.breaches == (which,)
    assert kinds(dispute) == [k for k in ("acknowledge", "resolve") if k != which]


def test_the_timers_fall_due_on_an_accelerated_clock():
    """A demo's accelerated clock (a day a minute): the acknowledgement of a Friday's dispute
    falls due once moved time passes the end of Tuesday, not before."""
    friday = datetime(YEAR, 11, 20, 10, tzinfo=UTC)
    real = FrozenClock(friday)
    clock = AcceleratedClock(epoch=friday, speed=24 * 60, real=real)
    case = claim(today=friday.date())
    dispute_id = case.open(now=clock.now())

    def due() -> list[str]:
        return [w.which for w in file_watches(case.file) if w.due_at <= clock.now()]

    real.advance(timedelta(minutes=4))  # Tuesday 10:00 moved time
    assert due() == []
    real.advance(timedelta(minutes=1))  # Wednesday 10:00
    [acknowledge] = [w for w in file_watches(case.file) if w.due_at <= clock.now()]
    assert acknowledge.which == "acknowledge"
    case.add(
        DisputeSlaBreached(
            claim_id=case.claim_id,
            dispute_id=dispute_id,
            which="acknowledge",
            due_at=acknowledge.due_at,
        ),
        acknowledge.due_at,
    )
    assert due() == []  # fired: breached once
    case.decide(Assign(dispute_id, "agent-1"), clock.now())
    real.advance(timedelta(minutes=26))  # 31 days after the opening
    assert due() == ["resolve"]
    case.decide(resolve(dispute_id), clock.now())
    assert due() == []
