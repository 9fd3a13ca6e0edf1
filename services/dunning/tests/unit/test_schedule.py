"""The scheduling rules: the track a claim follows, business days, contact hours, and a claim
registered already overdue. Every date is built from a fixed year, its weekday asserted."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from amiable_dunning.domain.policy import ContactHours, Policy, Step
from amiable_dunning.domain.schedule import (
    ClaimFacts,
    business_days_between,
    choose_track,
    contact_time,
    first_contact,
    plan,
    planned_day,
)
from amiable_rules.business_days import is_business_day

POLICY = Policy.load()
FROM_THE_REGISTERED_LETTER = ["registered_letter", "formal_notice", "litigation_handoff"]
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def on(day: date, weekday: int) -> date:
    assert day.weekday() == weekday, f"{day} is not the weekday the test assumes"
    return day


def step(anchor: str, offset: int) -> Step:
    return Step(
        key="s", anchor=anchor, offset_business_days=offset, action="email",
        channels=["email"], template="t",
    )  # fmt: skip


def claim(amount: str, issued_on: date, due_on: date, **more) -> ClaimFacts:
    return ClaimFacts(Decimal(amount), "EUR", issued_on, due_on, **more)


def test_a_step_on_bastille_day_in_france_moves_to_the_next_business_day():
    bastille = on(date(2028, 7, 14), FRI)
    assert planned_day(step("due_on", 0), date(2028, 6, 14), bastille, "FR") == on(
        date(2028, 7, 17), MON
    )
    # counted from the day before, the holiday is not a business day to count
    thursday = on(date(2028, 7, 13), THU)
    assert planned_day(step("due_on", 1), date(2028, 6, 13), thursday, "FR") == date(2028, 7, 17)
    # not a holiday in Germany
    assert planned_day(step("due_on", 0), date(2028, 6, 14), bastille, "DE") == bastille


def test_a_step_on_german_unity_day_moves_to_the_next_business_day():
    unity = on(date(2028, 10, 3), TUE)
    assert planned_day(step("due_on", 0), date(2028, 9, 3), unity, "DE") == on(
        date(2028, 10, 4), WED
    )
    monday = on(date(2028, 10, 2), MON)
    assert planned_day(step("due_on", 1), date(2028, 9, 2), monday, "DE") == date(2028, 10, 4)
    assert planned_day(step("due_on", 0), date(2028, 9, 3), unity, "FR") == unity


def test_a_negative_offset_counts_business_days_back_over_the_holiday():
    due = on(date(2028, 7, 19), WED)
    # 18, 17, (14 Bastille Day, 15-16 the weekend), 13, 12, 11
    assert planned_day(step("due_on", -5), date(2028, 6, 1), due, "FR") == on(
        date(2028, 7, 11), TUE
    )
    assert planned_day(step("issued_on", 3), on(date(2028, 7, 12), WED), due, "FR") == date(
        2028, 7, 18
    )


def test_contact_hours_open_at_nine_in_kolkata_which_is_half_past_three_utc():
    day = on(date(2028, 3, 7), TUE)
    assert contact_time(day, "Asia/Kolkata", ContactHours()) == datetime(
        2028, 3, 7, 3, 30, tzinfo=UTC
    )
    # Paris moves its clocks, Kolkata does not
    assert contact_time(date(2028, 1, 11), "Europe/Paris", ContactHours()).hour == 8
    assert contact_time(date(2028, 7, 11), "Europe/Paris", ContactHours()).hour == 7
    assert contact_time(day, "Not/AZone", ContactHours(opens=time(10))).hour == 10


def test_the_first_contact_after_closing_time_is_the_next_business_days_opening():
    tuesday = on(date(2028, 3, 7), TUE)
    assert is_business_day(date(2028, 3, 8), "IN")
    # 18:30 in Kolkata: closed
    evening = datetime(2028, 3, 7, 13, 0, tzinfo=UTC)
    assert first_contact(evening, "IN", "Asia/Kolkata", ContactHours()) == datetime(
        2028, 3, 8, 3, 30, tzinfo=UTC
    )
    # 14:30 in Kolkata: open now
    afternoon = datetime(2028, 3, 7, 9, 0, tzinfo=UTC)
    assert first_contact(afternoon, "IN", "Asia/Kolkata", ContactHours()) == afternoon
    # 07:30 in Kolkata: the opening the same day
    early = datetime.combine(tuesday, time(2, 0), UTC)
    assert first_contact(early, "IN", "Asia/Kolkata", ContactHours()) == datetime(
        2028, 3, 7, 3, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("segment", "hardship", "amount", "currency", "track"),
    [
        (None, True, "500", "EUR", "fragile_customer"),
        ("reliable", True, "50000", "EUR", "fragile_customer"),
        ("chronic_late_payer", True, "500", "EUR", "fragile_customer"),
        ("loyal_temporary_difficulty", False, "500", "EUR", "fragile_customer"),
        ("chronic_late_payer", False, "50000", "EUR", "chronic_late_payer"),
        ("reliable", False, "10000.00", "EUR", "large_claim"),
        (None, False, "9999.99", "EUR", "standard_b2b"),
        # no exchange rate in a policy: a threshold in euros says nothing of dollars
        ("reliable", False, "50000", "USD", "standard_b2b"),
        ("high_risk", False, "500", "EUR", "standard_b2b"),
    ],
)
def test_the_track_follows_hardship_then_segment_then_amount(
    segment, hardship, amount, currency, track
):
    chosen = choose_track(POLICY, segment, hardship, Decimal(amount), currency)
    assert chosen is not None and chosen.id == track


def test_insolvency_and_rejected_claims_are_never_chased():
    assert choose_track(POLICY, "insolvency", False, Decimal(500), "EUR") is None
    assert choose_track(POLICY, "insolvency", True, Decimal(50000), "EUR") is None
    assert choose_track(POLICY, "reliable", False, Decimal(500), "EUR", rejected=True) is None


def test_a_claim_registered_on_time_gets_every_step_at_the_opening_of_contact_hours():
    due = on(date(2028, 9, 1), FRI)
    facts = claim("1200.00", date(2028, 8, 2), due)
    registered = datetime(2028, 8, 2, 12, tzinfo=UTC)
    steps = plan(POLICY, POLICY.tracks["standard_b2b"], facts, registered, "DE", "Europe/Berlin")
    assert [p.step.key for p in steps] == [s.key for s in POLICY.tracks["standard_b2b"].steps]
    assert steps[0].day == on(date(2028, 9, 5), TUE)  # two business days after the due date
    assert steps[0].at == datetime(2028, 9, 5, 7, tzinfo=UTC)
    assert not any(p.caught_up for p in steps)
    assert steps[2].day == steps[3].day  # the letter and its email copy
    assert [p.tone for p in steps[:2]] == ["direct", "direct"]  # Germany's tone
    assert steps[4].tone == "firm"
    assert all(is_business_day(p.day, "DE") for p in steps)


def test_a_us_debtor_is_addressed_solution_first():
    facts = claim("1200.00", date(2028, 8, 2), date(2028, 9, 1))
    steps = plan(POLICY, POLICY.tracks["standard_b2b"], facts, datetime(2028, 8, 2, tzinfo=UTC),
                 "US", "America/New_York")  # fmt: skip
    assert steps[0].tone == "neutral" and steps[0].solution_first
    assert steps[0].at == datetime(2028, 9, 6, 13, tzinfo=UTC)  # Monday the 4th is Labor Day


def test_a_claim_imported_forty_days_late_catches_up_at_its_stage_with_a_reminder_first():
    due = on(date(2028, 9, 1), FRI)
    facts = claim("1200.00", date(2028, 8, 2), due)
    # 40 days after the due date: 28 business days, past the registered letter (25), before
    # the formal notice (35)
    registered = datetime(2028, 10, 11, 10, tzinfo=UTC)
    assert on(registered.date(), WED) and business_days_between(due, registered.date(), "FR") == 28
    steps = plan(POLICY, POLICY.tracks["standard_b2b"], facts, registered, "FR", "Europe/Paris")
    assert [p.step.key for p in steps] == FROM_THE_REGISTERED_LETTER
    catch_up, notice, handoff = steps
    # noon in Paris is inside contact hours: the reminder goes at registration
    assert catch_up.caught_up and catch_up.at == registered
    assert catch_up.tone == "firm" and catch_up.step.contact_role == "management"
    assert notice.day == on(date(2028, 10, 20), FRI) and not notice.caught_up
    assert notice.step.payment_deadline_days == 8
    # 1 November is a public holiday in France
    assert handoff.day == on(date(2028, 11, 13), MON)
    assert handoff.at == datetime(2028, 11, 13, 8, tzinfo=UTC)  # winter time


def test_a_claim_imported_past_its_formal_notice_restarts_at_it_after_a_reminder():
    due = on(date(2028, 9, 1), FRI)
    facts = claim("1200.00", date(2028, 8, 2), due)
    registered = datetime(2028, 10, 28, 10, tzinfo=UTC)  # a Saturday: the first contact is Monday
    assert on(registered.date(), SAT) and business_days_between(due, date(2028, 10, 27), "FR") == 40
    steps = plan(POLICY, POLICY.tracks["standard_b2b"], facts, registered, "FR", "Europe/Paris")
    assert [p.step.key for p in steps] == FROM_THE_REGISTERED_LETTER
    catch_up, notice, handoff = steps
    assert catch_up.day == on(date(2028, 10, 30), MON)
    assert catch_up.at == datetime(2028, 10, 30, 8, tzinfo=UTC)
    # the track's spacing: 10 business days from the registered letter to the notice, 15 more
    assert business_days_between(catch_up.day, notice.day, "FR") == 10
    assert business_days_between(notice.day, handoff.day, "FR") == 15


def test_a_claim_imported_the_morning_of_its_formal_notice_gets_the_reminder_first():
    due = on(date(2028, 9, 1), FRI)
    facts = claim("1200.00", date(2028, 8, 2), due)
    registered = datetime(2028, 10, 20, 5, tzinfo=UTC)  # 07:00 in Paris, before opening
    steps = plan(POLICY, POLICY.tracks["standard_b2b"], facts, registered, "FR", "Europe/Paris")
    catch_up, notice, _ = steps
    assert catch_up.step.key == "registered_letter"
    assert catch_up.at == datetime(2028, 10, 20, 7, tzinfo=UTC)
    assert business_days_between(catch_up.day, notice.day, "FR") == 10


def test_a_claim_with_a_reminder_still_ahead_of_its_notice_catches_nothing_up():
    due = on(date(2028, 9, 1), FRI)
    facts = claim("1200.00", date(2028, 8, 2), due)
    # past the call only: the email is still ahead, so nothing is caught up
    registered = datetime(2028, 9, 7, 10, tzinfo=UTC)
    steps = plan(POLICY, POLICY.tracks["standard_b2b"], facts, registered, "FR", "Europe/Paris")
    assert steps[0].step.key == "email_reminder" and not any(p.caught_up for p in steps)


def test_a_large_claim_gets_a_call_five_business_days_before_it_falls_due():
    due = on(date(2028, 9, 29), FRI)
    facts = claim("25000.00", on(date(2028, 8, 30), WED), due)
    track = choose_track(POLICY, "reliable", False, facts.amount, facts.currency)
    assert track is not None and track.id == "large_claim"
    steps = plan(POLICY, track, facts, datetime(2028, 8, 30, 9, tzinfo=UTC), "FR", "Europe/Paris")
    call = steps[0]
    assert call.step.action == "call_task" and call.tone == "courteous"
    assert call.day == on(date(2028, 9, 22), FRI)
    assert business_days_between(call.day, due, "FR") == 5
    assert steps[1].step.key == "call_overdue"


def test_the_call_before_due_waits_for_the_invoice_and_needs_the_amount():
    track = POLICY.tracks["large_claim"]
    short = claim("25000.00", on(date(2028, 9, 27), WED), on(date(2028, 9, 29), FRI))
    steps = plan(POLICY, track, short, datetime(2028, 9, 27, 6, tzinfo=UTC), "FR", "Europe/Paris")
    assert steps[0].step.key == "call_before_due" and steps[0].day == date(2028, 9, 28)
    small = claim("9000.00", date(2028, 8, 30), date(2028, 9, 29))
    steps = plan(POLICY, track, small, datetime(2028, 8, 30, tzinfo=UTC), "FR", "Europe/Paris")
    assert "call_before_due" not in [p.step.key for p in steps]


def test_a_hardship_gets_the_fragile_track_negotiation_first_and_no_handoff():
    facts = claim("1200.00", date(2028, 8, 2), date(2028, 9, 1), segment="reliable")
    track = choose_track(POLICY, facts.segment, True, facts.amount, facts.currency)
    assert track is not None and track.id == "fragile_customer"
    steps = plan(POLICY, track, facts, datetime(2028, 8, 2, tzinfo=UTC), "JP", "Asia/Tokyo")
    actions = [p.step.action for p in steps]
    assert actions.index("propose_payment_plan") < actions.index("registered_letter")
    assert "litigation_handoff" not in actions
    assert steps[0].tone == "courteous"
    assert steps[0].at.hour == 0  # 09:00 in Tokyo
