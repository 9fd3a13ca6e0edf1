"""The contact governor: caps per debtor across channels, contact hours on business days in the
debtor's time zone, opt-out and preferred channel, and the figures of a run.

The dates are inputs, chosen for their weekdays and holidays (checked below); the governor takes
"now" as an argument, so nothing here depends on today's date.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from amiable_communications.domain.governor import (
    Candidate,
    Contact,
    ContactRules,
    Debtor,
    Defer,
    Figures,
    RuleBook,
    Send,
    Suppress,
    decide,
    order_channels,
    summarise,
)
from amiable_rules.business_days import is_business_day

PARIS = ZoneInfo("Europe/Paris")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2026, 11, 2)
BOOK = RuleBook.shipped()
FR_RULES = BOOK.rules_for("FR")
US_RULES = BOOK.rules_for("US")
FR = Debtor(country="FR", timezone="Europe/Paris")
US = Debtor(country="US", timezone="America/New_York")
DE = Debtor(country="DE", timezone="Europe/Berlin")


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = PARIS) -> datetime:
    return datetime.combine(day, time(hour, minute), tz).astimezone(UTC)


def day(n: int) -> date:
    """The ``n``-th day after the Monday the scenarios start on."""
    return MONDAY + timedelta(days=n)


def reminder(moment: datetime, channel: str = "email") -> Candidate:
    return Candidate(channel=channel, kind="reminder", at=moment)


def sent(moment: datetime, kind: str = "reminder", channel: str = "email") -> Contact:
    return Contact(at=moment, channel=channel, kind=kind)


def test_the_dates_have_the_weekdays_and_holidays_the_scenarios_assume():
    assert MONDAY.weekday() == 0
    assert all(is_business_day(day(n), "FR") for n in range(5))
    assert date(2026, 12, 25).weekday() == 4 and not is_business_day(date(2026, 12, 25), "FR")
    assert date(2025, 10, 3).weekday() == 4 and not is_business_day(date(2025, 10, 3), "DE")
    assert is_business_day(day(7), "US")


def test_a_contact_inside_hours_on_a_business_day_with_room_under_the_caps_goes_as_intended():
    intended = at(day(1), 10)
    assert decide(reminder(intended), [], FR_RULES, FR, now=intended) == Send(intended)
    later = at(day(1), 15)
    assert decide(reminder(later), [], FR_RULES, FR, now=intended) == Send(later)
    # a step that fell due while the service was down goes now, not at its past instant
    assert decide(reminder(intended), [], FR_RULES, FR, now=later) == Send(later)


def test_a_fourth_contact_in_7_days_waits_until_the_first_leaves_the_window():
    history = [sent(at(day(0), 10)), sent(at(day(1), 11), channel="sms"), sent(at(day(2), 9))]
    decision = decide(reminder(at(day(3), 10)), history, FR_RULES, FR, now=at(day(3), 10))
    # Friday's 7 days still hold Monday's contact, the weekend is closed: Monday 08:00
    assert decision == Defer(at(day(7), 8), "weekly_cap")


def test_a_second_contact_the_same_local_day_waits_for_the_next_business_morning():
    history = [sent(at(day(0), 9), kind="call_attempt", channel="phone")]
    decision = decide(reminder(at(day(0), 14)), history, FR_RULES, FR, now=at(day(0), 14))
    assert decision == Defer(at(day(1), 8), "daily_cap")


def test_contacts_of_every_claim_and_channel_of_the_debtor_count_together():
    history = [
        sent(at(day(0), 9), channel="letter"),
        sent(at(day(1), 9), kind="call_attempt", channel="phone"),
        sent(at(day(2), 9), channel="sms"),
    ]
    call = Candidate(channel="phone", kind="call_attempt", at=at(day(3), 10))
    assert decide(call, history, FR_RULES, FR, now=at(day(3), 10)) == Defer(
        at(day(7), 8), "weekly_cap"
    )


def test_22h_local_is_deferred_to_the_next_morning_at_8():
    late = at(day(1), 22)
    assert decide(reminder(late), [], FR_RULES, FR, now=late) == Defer(
        at(day(2), 8), "outside_hours"
    )
    early = at(day(1), 6, 30)
    assert decide(reminder(early), [], FR_RULES, FR, now=early) == Defer(
        at(day(1), 8), "outside_hours"
    )
    # 20:00 is the end of the hours: nothing starts then
    assert decide(reminder(at(day(1), 20)), [], FR_RULES, FR, now=at(day(1), 20)) == Defer(
        at(day(2), 8), "outside_hours"
    )


def test_a_friday_evening_goes_on_monday_morning():
    friday_evening = at(day(4), 21)
    assert decide(reminder(friday_evening), [], FR_RULES, FR, now=friday_evening) == Defer(
        at(day(7), 8), "outside_hours"
    )


def test_a_sunday_is_skipped():
    sunday = at(day(6), 10)
    assert decide(reminder(sunday), [], FR_RULES, FR, now=sunday) == Defer(
        at(day(7), 8), "not_business_day"
    )


@pytest.mark.parametrize(
    ("debtor", "holiday", "tz", "next_open"),
    [
        (FR, date(2026, 12, 25), PARIS, date(2026, 12, 28)),
        (DE, date(2025, 10, 3), BERLIN, date(2025, 10, 6)),
    ],
    ids=["christmas-FR", "unity-day-DE"],
)
def test_a_public_holiday_of_the_debtors_country_is_skipped(debtor, holiday, tz, next_open):
    rules = BOOK.rules_for(debtor.country)
    moment = at(holiday, 10, tz=tz)
    assert decide(reminder(moment), [], rules, debtor, now=moment) == Defer(
        at(next_open, 8, tz=tz), "not_business_day"
    )
    # the eve's evening jumps the holiday and the weekend too
    eve = at(holiday - timedelta(days=1), 20, 30, tz=tz)
    assert decide(reminder(eve), [], rules, debtor, now=eve) == Defer(
        at(next_open, 8, tz=tz), "outside_hours"
    )


def test_hours_are_the_debtors_local_hours_not_the_servers():
    # 07:30 in New York is 12:30 UTC: inside a Paris day, outside a New York one
    moment = at(day(1), 7, 30, tz=NEW_YORK)
    assert decide(reminder(moment), [], US_RULES, US, now=moment) == Defer(
        at(day(1), 8, tz=NEW_YORK), "outside_hours"
    )


def test_an_opted_out_debtor_gets_nothing_on_any_channel_of_any_kind():
    gone = Debtor(country="FR", timezone="Europe/Paris", opted_out=True, preferred_channel="email")
    moment = at(day(1), 10)
    for channel in ("email", "sms", "phone", "letter", "registered_letter"):
        for kind in ("reminder", "transactional", "call_attempt"):
            candidate = Candidate(channel=channel, kind=kind, at=moment)
            assert decide(candidate, [], FR_RULES, gone, now=moment) == Suppress("opted_out")
    assert order_channels(["phone", "email", "letter"], gone) == []


def test_an_opt_out_of_one_channel_suppresses_that_channel_only():
    no_sms = Debtor(country="FR", timezone="Europe/Paris", opted_out_channels=frozenset({"sms"}))
    moment = at(day(1), 10)
    assert decide(reminder(moment, "sms"), [], FR_RULES, no_sms, now=moment) == Suppress(
        "opted_out"
    )
    assert decide(reminder(moment, "email"), [], FR_RULES, no_sms, now=moment) == Send(moment)


def test_the_us_preset_allows_contacts_until_21h():
    evening = at(day(1), 20, 30, tz=NEW_YORK)
    assert decide(reminder(evening), [], US_RULES, US, now=evening) == Send(evening)
    paris_evening = at(day(1), 20, 30)
    assert decide(reminder(paris_evening), [], FR_RULES, FR, now=paris_evening) == Defer(
        at(day(2), 8), "outside_hours"
    )
    nine = at(day(1), 21, tz=NEW_YORK)
    assert decide(reminder(nine), [], US_RULES, US, now=nine) == Defer(
        at(day(2), 8, tz=NEW_YORK), "outside_hours"
    )


def test_the_us_preset_caps_call_attempts_at_7_in_7_days_counted_apart_from_messages():
    calls = [
        sent(at(day(n), hour, tz=NEW_YORK), kind="call_attempt", channel="phone")
        for n, hour in [(0, 9), (0, 15), (1, 9), (1, 16), (2, 10), (3, 10), (4, 9)]
    ]
    friday = at(day(4), 15, tz=NEW_YORK)
    eighth = Candidate(channel="phone", kind="call_attempt", at=friday)
    # Tuesday's 7 days no longer hold Monday's two attempts: Monday is the first open morning
    assert decide(eighth, calls, US_RULES, US, now=friday) == Defer(
        at(day(7), 8, tz=NEW_YORK), "call_cap"
    )
    seventh = Candidate(channel="phone", kind="call_attempt", at=friday)
    assert decide(seventh, calls[:6], US_RULES, US, now=friday) == Send(friday)
    # the calls do not use up the message caps, nor the messages the call cap
    assert decide(reminder(friday), calls, US_RULES, US, now=friday) == Send(friday)
    emails = [sent(at(day(n), 9, tz=NEW_YORK)) for n in range(3)]
    assert decide(seventh, calls[:6] + emails, US_RULES, US, now=friday) == Send(friday)


def test_a_transactional_confirmation_is_not_capped_but_keeps_to_the_hours():
    full_week = [sent(at(day(n), 9)) for n in range(3)] + [sent(at(day(3), 9))]
    afternoon = at(day(3), 15)
    confirmation = Candidate(channel="email", kind="transactional", at=afternoon)
    assert decide(confirmation, full_week, FR_RULES, FR, now=afternoon) == Send(afternoon)
    late = Candidate(channel="email", kind="transactional", at=at(day(3), 22))
    assert decide(late, full_week, FR_RULES, FR, now=at(day(3), 22)) == Defer(
        at(day(4), 8), "outside_hours"
    )
    sunday = Candidate(channel="email", kind="transactional", at=at(day(6), 10))
    assert decide(sunday, [], FR_RULES, FR, now=at(day(6), 10)) == Defer(
        at(day(7), 8), "not_business_day"
    )


def test_transactional_messages_sent_do_not_use_up_the_caps():
    thanks = [sent(at(day(n), 9), kind="transactional") for n in range(4)]
    moment = at(day(3), 15)
    assert decide(reminder(moment), thanks, FR_RULES, FR, now=moment) == Send(moment)


def test_contacts_the_service_committed_to_later_count_in_the_windows_that_reach_them():
    # three contacts from next Monday on: one more this Friday would make four in Fri..Thu
    ahead = [sent(at(day(n), 9)) for n in (7, 8, 9)]
    friday = at(day(4), 10)
    decision = decide(reminder(friday), ahead, FR_RULES, FR, now=friday)
    assert isinstance(decision, Defer) and decision.reason == "weekly_cap"
    assert decision.until == at(day(14), 8)


def test_no_allowed_slot_within_the_search_bound_suppresses():
    every_day = [sent(at(day(n), 9)) for n in range(80)]
    moment = at(day(0), 10)
    assert decide(reminder(moment), every_day, FR_RULES, FR, now=moment) == Suppress(
        "no_allowed_slot"
    )


def test_the_preferred_channel_comes_first_and_opted_out_channels_are_dropped():
    step = ["phone", "email", "letter"]
    assert order_channels(step, FR) == ["phone", "email", "letter"]
    likes_letters = Debtor(country="FR", timezone="Europe/Paris", preferred_channel="letter")
    assert order_channels(step, likes_letters) == ["letter", "phone", "email"]
    picky = Debtor(
        country="FR",
        timezone="Europe/Paris",
        preferred_channel="email",
        opted_out_channels=frozenset({"email", "phone"}),
    )
    assert order_channels(step, picky) == ["letter"]
    # a preference the step does not offer changes nothing
    likes_sms = Debtor(country="FR", timezone="Europe/Paris", preferred_channel="sms")
    assert order_channels(step, likes_sms) == step


def test_country_presets_inherit_the_default_and_unknown_countries_get_it():
    assert BOOK.rules_for("FR") == BOOK.default == BOOK.rules_for(None)
    assert (FR_RULES.opens, FR_RULES.closes) == (time(8), time(20))
    assert (FR_RULES.contacts.per_day, FR_RULES.contacts.per_week) == (1, 3)
    assert FR_RULES.calls is None
    assert US_RULES.closes == time(21) and US_RULES.contacts == FR_RULES.contacts
    assert US_RULES.calls is not None and US_RULES.calls.per_week == 7


def test_rules_that_close_before_they_open_or_cap_at_zero_are_refused():
    with pytest.raises(ValidationError, match="open"):
        RuleBook.from_yaml("default: {opens: '20:00', closes: '08:00'}")
    with pytest.raises(ValidationError, match="per_week"):
        RuleBook.from_yaml("default: {contacts: {per_week: 0}}")
    with pytest.raises(ValidationError, match=r"countries\.IT"):
        RuleBook.from_yaml("default: {}\ncountries: {IT: {closes: '07:00'}}")


def _allowed(moment: datetime, kind: str, history: list[Contact], rules: ContactRules, debtor):
    """The rules restated plainly, to check the governor against: every 7-day window."""
    tz = ZoneInfo(debtor.timezone)
    local = moment.astimezone(tz)
    if not is_business_day(local.date(), debtor.country):
        return False
    if not rules.opens <= local.time() < rules.closes:
        return False
    if kind == "transactional":
        return True
    apart = rules.calls is not None
    mine = kind == "call_attempt" and apart
    caps = rules.calls if mine else rules.contacts
    days = [
        c.at.astimezone(tz).date()
        for c in history
        if c.kind != "transactional" and (c.kind == "call_attempt" and apart) == mine
    ] + [local.date()]
    if caps.per_day is not None and days.count(local.date()) > caps.per_day:
        return False
    for start in range(-6, 1):
        first = local.date() + timedelta(days=start)
        in_window = sum(first <= d <= first + timedelta(days=6) for d in days)
        if caps.per_week is not None and in_window > caps.per_week:
            return False
    return True


@pytest.mark.parametrize("seed", range(80))
def test_a_decision_is_never_outside_the_rules_and_a_deferral_is_the_first_allowed_slot(seed):
    rng = random.Random(seed)
    debtor, rules = rng.choice([(FR, FR_RULES), (US, US_RULES)])
    tz = ZoneInfo(debtor.timezone)
    kinds = ["reminder", "call_attempt", "transactional"]
    now = datetime.combine(day(rng.randrange(14)), time(rng.randrange(24), 15 * rng.randrange(4)))
    now = now.replace(tzinfo=tz).astimezone(UTC)
    history = [
        sent(now - timedelta(hours=rng.randrange(1, 4 * 24)), kind=rng.choice(kinds))
        for _ in range(rng.randrange(10))
    ]
    kind = rng.choice(kinds)
    decision = decide(Candidate("email", kind, now), history, rules, debtor, now)
    assert not isinstance(decision, Suppress)
    moment = decision.at if isinstance(decision, Send) else decision.until
    assert moment >= now
    assert _allowed(moment, kind, history, rules, debtor)
    assert isinstance(decision, Send) == (moment == now)
    # every quarter hour before the slot breaks a rule
    probe = now
    while probe < moment:
        assert not _allowed(probe, kind, history, rules, debtor), probe
        probe += timedelta(minutes=15)


def test_the_figures_count_sends_per_debtor_and_deferrals_and_suppressions_by_reason():
    moment = at(day(1), 10)
    figures = summarise(
        [
            ("C-1", Send(moment)),
            ("C-1", Send(moment)),
            ("C-2", Defer(moment, "weekly_cap")),
            ("C-2", Send(moment)),
            ("C-3", Defer(moment, "outside_hours")),
            ("C-3", Defer(moment, "weekly_cap")),
            ("C-4", Suppress("opted_out")),
        ]
    )
    assert figures == Figures(
        sent=3,
        deferred=3,
        suppressed=1,
        contacts_per_debtor={"C-1": 2, "C-2": 1},
        deferrals_by_reason={"outside_hours": 1, "weekly_cap": 2},
        suppressions_by_reason={"opted_out": 1},
    )
    assert figures.most_contacts_for_one_debtor == 2
    assert summarise([]).most_contacts_for_one_debtor == 0
