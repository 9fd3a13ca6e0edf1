"""The scheduling rules: which track a claim follows, and when each of its steps goes out.

Pure: no clock. The days and instants a plan depends on (the claim's dates, when it was
registered) are passed in, so a replay of the same facts plans the same steps. A step lands on a
business day of the debtor's country, at the opening of contact hours in the debtor's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from amiable_dunning.domain.policy import (
    NEVER_CHASED,
    REMINDERS,
    ContactHours,
    Policy,
    Step,
    Tone,
    Track,
)
from amiable_rules.business_days import MAX_CLOSED_RUN, is_business_day, next_business_day
from amiable_rules.local_time import zone


@dataclass(frozen=True)
class ClaimFacts:
    """What planning needs to know of a claim and its debtor."""

    amount: Decimal
    currency: str
    issued_on: date
    due_on: date
    segment: str | None = None
    tenant: str | None = None


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    day: date
    #: UTC
    at: datetime
    tone: Tone
    solution_first: bool
    #: Planned at registration instead of its own day, so a formal notice has a reminder first
    caught_up: bool = False


def choose_track(
    policy: Policy,
    segment: str | None,
    hardship: bool,
    amount: Decimal,
    currency: str,
    *,
    rejected: bool = False,
) -> Track | None:
    """The track a claim follows, or None when it is never chased (a rejected claim, a debtor
    in collective proceedings). A hardship outranks the segment, and the segment the amount: a
    fragile or chronic debtor is treated as such whatever it owes."""
    if rejected or segment in NEVER_CHASED:
        return None
    tracks = policy.tracks.values()
    if hardship:
        return next(track for track in tracks if track.applies_to.hardship)
    routed = next((track for track in tracks if segment in track.applies_to.segments), None)
    if routed is not None:
        return routed
    if policy.large_claim_threshold.reached_by(amount, currency):
        return policy.tracks["large_claim"]
    return policy.tracks["standard_b2b"]


def _previous_business_day(day: date, country: str) -> date:
    for back in range(MAX_CLOSED_RUN + 1):
        candidate = day - timedelta(days=back)
        if is_business_day(candidate, country):
            return candidate
    raise ValueError(f"no business day in {country} within {MAX_CLOSED_RUN} days before {day}")


def add_business_days(day: date, count: int, country: str) -> date:
    """``count`` business days of ``country`` after ``day`` (before it when negative); with 0,
    ``day`` itself or the next business day."""
    for _ in range(abs(count)):
        day = (
            next_business_day(day + timedelta(days=1), country)
            if count > 0
            else _previous_business_day(day - timedelta(days=1), country)
        )
    return next_business_day(day, country)


def business_days_between(start: date, end: date, country: str) -> int:
    """Business days after ``start`` up to ``end`` included."""
    return sum(
        is_business_day(start + timedelta(days=n), country)
        for n in range(1, (end - start).days + 1)
    )


def planned_day(step: Step, issued_on: date, due_on: date, country: str) -> date:
    anchor = issued_on if step.anchor == "issued_on" else due_on
    return add_business_days(anchor, step.offset_business_days, country)


def contact_time(day: date, timezone: str, hours: ContactHours) -> datetime:
    """The opening of contact hours on ``day`` in the debtor's time zone, in UTC."""
    return datetime.combine(day, hours.opens, zone(timezone)).astimezone(UTC)


def first_contact(moment: datetime, country: str, timezone: str, hours: ContactHours) -> datetime:
    """The first instant from ``moment`` on that falls inside contact hours on a business day."""
    local = moment.astimezone(zone(timezone))
    if is_business_day(local.date(), country) and local.time() < hours.closes:
        return max(moment.astimezone(UTC), contact_time(local.date(), timezone, hours))
    day = next_business_day(local.date() + timedelta(days=1), country)
    return contact_time(day, timezone, hours)


def plan(
    policy: Policy,
    track: Track,
    claim: ClaimFacts,
    registered_at: datetime,
    country: str,
    timezone: str,
) -> list[PlannedStep]:
    """Every step of ``track`` whose conditions hold, with its day and instant, in order."""
    hours = policy.contact_hours_for(country)
    culture = policy.culture_for(country, claim.tenant)
    # Nothing reaches the debtor before the invoice could have: a step counted back from a due
    # date close to the issue waits for the first business day after it.
    earliest = next_business_day(claim.issued_on + timedelta(days=1), country)
    planned: list[PlannedStep] = []
    for step in track.steps:
        if not step.conditions.hold(claim.amount, claim.currency, claim.segment, country):
            continue
        day = max(planned_day(step, claim.issued_on, claim.due_on, country), earliest)
        # Short payment terms can put a step counted from the due date before one counted from
        # the issue: it waits, so the track's order is kept.
        earliest = day
        at = contact_time(day, timezone, hours)
        planned.append(
            PlannedStep(step, day, at, step.tone or culture.tone, culture.solution_first)
        )
    return _catch_up(planned, registered_at, country, timezone, hours)


def _catch_up(
    planned: list[PlannedStep],
    registered_at: datetime,
    country: str,
    timezone: str,
    hours: ContactHours,
) -> list[PlannedStep]:
    """A claim registered already overdue starts at the stage its age calls for: the steps
    planned before registration are not sent. But a formal notice always follows a reminder:
    when none is left before it, the last one skipped goes out at the first contact time after
    registration. A claim whose formal notice is already past, or due the day of that reminder,
    restarts at the formal notice rather than pass it or send both at once: the notice and what
    follows keep their spacing after the reminder."""
    past = [p for p in planned if p.at < registered_at]
    if not past:
        return planned
    kept = planned[len(past) :]
    notice = next((p for p in planned if p.step.action == "formal_notice"), None)
    if notice is None:
        return kept
    before_notice = planned[: planned.index(notice)]
    if any(p.step.action in REMINDERS for p in before_notice if p in kept):
        return kept
    reminder = next((p for p in reversed(past) if p.step.action in REMINDERS), None)
    if reminder is None:
        return kept
    now = first_contact(registered_at, country, timezone, hours)
    now_day = now.astimezone(zone(timezone)).date()
    caught_up = replace(reminder, day=now_day, at=now, caught_up=True)
    if notice in kept and notice.day > now_day:
        return [caught_up, *kept]
    gap = business_days_between(reminder.day, notice.day, country)
    notice_day = add_business_days(now_day, max(gap, 1), country)
    restarted = []
    for p in planned[planned.index(notice) :]:
        day = add_business_days(
            notice_day, business_days_between(notice.day, p.day, country), country
        )
        restarted.append(replace(p, day=day, at=contact_time(day, timezone, hours)))
    return [caught_up, *restarted]
