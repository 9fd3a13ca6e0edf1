"""The contact governor: whether a message may reach a debtor now, later, or not at all.

It works per debtor account, across all its claims and channels, on the rules of the debtor's
country (``data/contact_rules.yaml``): at most so many contacts a local day and in any 7 local
days, only inside contact hours on the debtor's business days, never on a channel the debtor
opted out of. Pure: the history of what was sent, the debtor and "now" are arguments; the service
asks again when a deferred slot comes, with the history as it is then, so two messages deferred
to the same slot cannot both go.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from importlib.resources import files
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from amiable_events.communications import DeferReason, Kind, SuppressReason
from amiable_events.dunning import Channel
from amiable_rules.business_days import MAX_CLOSED_RUN, is_business_day
from amiable_rules.local_time import zone

WEEK_DAYS = 7
#: How far ahead a slot is looked for: the longest closed run of a calendar, then a full week of
#: caps, with room to spare. Beyond it the rules cannot be met and the message is suppressed.
SEARCH_DAYS = MAX_CLOSED_RUN + 2 * WEEK_DAYS


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Caps(_Rules):
    """How many counted contacts a local calendar day and any 7 consecutive local days allow;
    ``None`` leaves that limit off."""

    per_day: int | None = Field(None, ge=1)
    per_week: int | None = Field(None, ge=1)


class ContactRules(_Rules):
    """The rules of one country.

    ``calls`` is ``None`` where a call attempt is a contact like any other, counted in
    ``contacts``. Where it is set (the US preset), call attempts are counted on their own against
    it and not in ``contacts``: the 7-in-7 rule for calls would mean nothing under a cap of 3
    contacts a week, and a missed call does not reach the debtor the way a letter does.
    """

    opens: time = time(8)
    closes: time = time(20)
    contacts: Caps = Caps(per_day=1, per_week=3)
    calls: Caps | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ContactRules:
        if self.opens >= self.closes:
            raise ValueError(f"contact hours open ({self.opens}) after they close ({self.closes})")
        return self


class RuleBook(_Rules):
    """The default rules and each country's; a country entry names only what differs."""

    default: ContactRules
    countries: dict[str, ContactRules] = {}

    @model_validator(mode="before")
    @classmethod
    def _inherit(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("countries"), dict):
            return data
        base = data.get("default") or {}
        return {
            **data,
            "countries": {
                country: {**base, **own} if isinstance(own, dict) else own
                for country, own in data["countries"].items()
            },
        }

    def rules_for(self, country: str | None) -> ContactRules:
        return self.countries.get(country or "", self.default)

    @classmethod
    def from_yaml(cls, text: str) -> RuleBook:
        return cls.model_validate(yaml.safe_load(text))

    @classmethod
    def shipped(cls) -> RuleBook:
        """The rules shipped with the service (``data/contact_rules.yaml``)."""
        text = files("amiable_communications").joinpath("data/contact_rules.yaml").read_text()
        return cls.from_yaml(text)


@dataclass(frozen=True)
class Debtor:
    """A debtor account as the governor sees it: where it is, and what it asked for."""

    country: str | None
    timezone: str | None
    opted_out: bool = False
    opted_out_channels: frozenset[Channel] = frozenset()
    preferred_channel: Channel | None = None

    def refuses(self, channel: Channel) -> bool:
        return self.opted_out or channel in self.opted_out_channels


@dataclass(frozen=True)
class Contact:
    """Something that was sent to the debtor, on any of its claims."""

    at: datetime
    channel: Channel
    kind: Kind


@dataclass(frozen=True)
class Candidate:
    """A message or call the service would like to send, and when."""

    channel: Channel
    kind: Kind
    at: datetime


@dataclass(frozen=True)
class Send:
    at: datetime


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: DeferReason


@dataclass(frozen=True)
class Suppress:
    reason: SuppressReason


Decision = Send | Defer | Suppress


def order_channels(channels: Sequence[Channel], debtor: Debtor) -> list[Channel]:
    """The step's channels the debtor has not opted out of, its preferred one first, the others
    in the step's order; empty when none is left."""
    allowed = [c for c in dict.fromkeys(channels) if not debtor.refuses(c)]
    return sorted(allowed, key=lambda c: c != debtor.preferred_channel)


def decide(
    candidate: Candidate,
    history: Iterable[Contact],
    rules: ContactRules,
    debtor: Debtor,
    now: datetime,
) -> Decision:
    """Send at the intended time (or now, if that has passed) when every rule allows it; else
    defer to the first instant that every rule allows; suppress when the debtor refuses the
    channel or no such instant exists within ``SEARCH_DAYS``."""
    if debtor.refuses(candidate.channel):
        return Suppress("opted_out")
    tz = zone(debtor.timezone)
    earliest = max(candidate.at, now).astimezone(tz)
    days = _counted_days(candidate.kind, history, rules, tz)
    first_reason: DeferReason | None = None
    for offset in range(SEARCH_DAYS):
        day = earliest.date() + timedelta(days=offset)
        opens = datetime.combine(day, rules.opens, tz)
        slot = max(earliest, opens)
        reason = _blocked(day, slot, candidate.kind, days, rules, debtor.country)
        if reason is None:
            if slot == earliest:
                return Send(slot.astimezone(UTC))
            return Defer(slot.astimezone(UTC), first_reason or "outside_hours")
        first_reason = first_reason or reason
    return Suppress("no_allowed_slot")


def _counted_days(
    kind: Kind, history: Iterable[Contact], rules: ContactRules, tz: tzinfo
) -> Counter[date]:
    """Local days of the past contacts that count against the caps the candidate answers to."""
    if kind == "transactional":
        return Counter()
    separate_calls = rules.calls is not None
    wanted_calls = kind == "call_attempt" and separate_calls
    return Counter(
        contact.at.astimezone(tz).date()
        for contact in history
        if contact.kind != "transactional"
        and (contact.kind == "call_attempt" and separate_calls) == wanted_calls
    )


def _blocked(
    day: date,
    slot: datetime,
    kind: Kind,
    days: Counter[date],
    rules: ContactRules,
    country: str | None,
) -> DeferReason | None:
    if not is_business_day(day, country):
        return "not_business_day"
    if slot.time() >= rules.closes:
        return "outside_hours"
    if kind == "transactional":
        return None
    is_call = kind == "call_attempt" and rules.calls is not None
    caps = rules.calls if is_call and rules.calls is not None else rules.contacts
    if caps.per_day is not None and days[day] >= caps.per_day:
        return "call_cap" if is_call else "daily_cap"
    if caps.per_week is not None and _week_full(day, days, caps.per_week):
        return "call_cap" if is_call else "weekly_cap"
    return None


def _week_full(day: date, days: Counter[date], cap: int) -> bool:
    """True when one more contact on ``day`` would put more than ``cap`` in some 7 consecutive
    days containing it; windows reaching after ``day`` matter when the history already holds
    contacts the service committed to later."""
    for start in range(-WEEK_DAYS + 1, 1):
        first = day + timedelta(days=start)
        window = sum(days[first + timedelta(days=n)] for n in range(WEEK_DAYS))
        if window >= cap:
            return True
    return False


@dataclass(frozen=True)
class Figures:
    """What the governor did over a run: for the service's metrics and a closing note."""

    sent: int = 0
    deferred: int = 0
    suppressed: int = 0
    contacts_per_debtor: dict[str, int] = field(default_factory=dict)
    deferrals_by_reason: dict[str, int] = field(default_factory=dict)
    suppressions_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def most_contacts_for_one_debtor(self) -> int:
        return max(self.contacts_per_debtor.values(), default=0)


def summarise(decisions: Iterable[tuple[str, Decision]]) -> Figures:
    """The figures of ``(debtor id, decision)`` pairs; a message deferred and later sent appears
    once as a deferral and once as a send."""
    contacts: Counter[str] = Counter()
    deferrals: Counter[str] = Counter()
    suppressions: Counter[str] = Counter()
    for debtor_id, decision in decisions:
        match decision:
            case Send():
                contacts[debtor_id] += 1
            case Defer(reason=reason):
                deferrals[reason] += 1
            case Suppress(reason=reason):
                suppressions[reason] += 1
    return Figures(
        sent=contacts.total(),
        deferred=deferrals.total(),
        suppressed=suppressions.total(),
        contacts_per_debtor=dict(sorted(contacts.items())),
        deferrals_by_reason=dict(sorted(deferrals.items())),
        suppressions_by_reason=dict(sorted(suppressions.items())),
    )
