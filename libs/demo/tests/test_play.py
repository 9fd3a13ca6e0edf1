"""The demo's schedule: what each debtor does through the public APIs, and when. Reproducible,
every behaviour acting as its name says, each request one the API accepts, each action with an
Idempotency-Key of its own; the moved clock starting on the demo's first day; the progress
tally."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

from amiable_claims.api.models import ClaimIn
from amiable_demo.generate import generate
from amiable_demo.play import (
    DEMO_COUNTRIES,
    demo_plan,
    instalments,
    moved_clock,
    run_name,
    schedule,
)
from amiable_demo.tally import Tally
from amiable_events.claims import ClaimRegistered, ClaimSettled
from amiable_events.clock import AcceleratedClock, FrozenClock, clock_from_setting
from amiable_events.communications import CommunicationSent
from amiable_events.disputes import DisputeOpened, DisputeResolved

START = date(2031, 3, 3)  # any day: the schedule depends on the plan only
PLAN = demo_plan(claims=200, seed=1, start=START, months=6, tenant="acme")


@cache
def actions():
    return schedule(generate(PLAN))


def test_the_same_plan_gives_the_same_actions_and_another_seed_other_ones():
    again = schedule(generate(PLAN))
    other = schedule(generate(demo_plan(claims=200, seed=2, start=START, months=6)))

    assert again == actions()
    assert [a.key for a in other] != [a.key for a in actions()]


def test_every_claim_is_registered_once_then_acted_on_in_time_order():
    registered = [a for a in actions() if a.kind == "register"]
    first_seen = {}
    for action in actions():
        first_seen.setdefault(action.invoice or action.debtor_id, action)

    assert len(registered) == PLAN.claims
    assert [a.at for a in actions()] == sorted(a.at for a in actions())
    assert all(first_seen[a.invoice].kind == "register" for a in actions() if a.invoice)
    assert all(PLAN.start <= a.at.date() <= PLAN.end for a in actions())


def test_the_portfolio_has_every_country_behaviour_and_kind_of_action():
    history = generate(PLAN)

    assert {d.country for d in history.debtors} == set(DEMO_COUNTRIES)
    assert {d.behaviour for d in history.debtors} == {
        "reliable",
        "slowing",
        "chronic_late_payer",
        "loyal_temporary_difficulty",
        "disputing",
        "insolvent",
    }
    kinds = Counter(a.kind for a in actions())
    for kind in ("register", "pay", "pay_instalment", "promise", "plan", "dispute"):
        assert kinds[kind] > 0, kind
    assert kinds["resolve_dispute"] > 0 and kinds["insolvency"] > 0


def test_each_behaviour_acts_as_its_name_says():
    kinds = defaultdict(Counter)
    for action in actions():
        kinds[action.behaviour][action.kind] += 1

    assert set(kinds["disputing"]) >= {"dispute", "resolve_dispute"}
    assert kinds["reliable"]["dispute"] == kinds["reliable"]["promise"] == 0
    assert kinds["insolvent"]["insolvency"] > 0
    assert kinds["chronic_late_payer"]["promise"] > 0
    assert kinds["loyal_temporary_difficulty"]["plan"] > 0
    assert {b for b, k in kinds.items() if k["dispute"]} == {"disputing"}


def test_a_dispute_is_upheld_after_it_is_opened_and_an_instalment_follows_its_plan():
    seen: dict[str, list[str]] = defaultdict(list)
    for action in actions():
        seen[action.invoice or action.debtor_id].append(action.kind)
    resolved = [kinds for kinds in seen.values() if "resolve_dispute" in kinds]
    paid_in_parts = [kinds for kinds in seen.values() if "pay_instalment" in kinds]

    assert resolved and all(k.index("dispute") < k.index("resolve_dispute") for k in resolved)
    assert paid_in_parts and all(k.index("plan") < k.index("pay_instalment") for k in paid_in_parts)
    upheld = {a.body["outcome"] for a in actions() if a.kind == "resolve_dispute"}
    assert upheld == {"upheld"}


def test_a_payment_that_settled_the_claim_pays_what_is_due_on_the_day():
    history = generate(PLAN)
    settled_by_payment = sum(
        isinstance(e.data, ClaimSettled) and e.causation_id is not None
        for d in history.debtors
        for e in d.envelopes
    )
    pays = [a for a in actions() if a.kind == "pay"]
    everything = [a for a in pays if a.body["amount"] is None]

    assert everything and len(everything) <= settled_by_payment
    assert all(Decimal(a.body["amount"]) > 0 for a in pays if a.body["amount"] is not None)
    assert all(a.body["received_on"] == a.at.date().isoformat() for a in pays)


def test_every_action_has_a_key_of_its_own_and_another_demo_other_invoices_and_keys():
    keys = [a.key for a in actions()]
    next_day = START + timedelta(days=1)
    later = schedule(generate(demo_plan(claims=200, seed=1, start=next_day, months=6)))
    reseeded = schedule(generate(demo_plan(claims=200, seed=3, start=START, months=6)))

    assert len(set(keys)) == len(keys)
    assert all(len(key) <= 255 for key in keys)
    for other in (later, reseeded):
        assert not {a.key for a in other} & set(keys)
        invoices = {a.invoice for a in actions() if a.invoice}
        assert not {a.invoice for a in other if a.invoice} & invoices


def test_a_registration_is_a_request_the_claims_api_accepts_with_contacts_in_clear():
    history = generate(PLAN)
    registered = {
        f"{e.data.invoice_number}-{run_name(PLAN)}": e.data
        for d in history.debtors
        for e in d.envelopes
        if isinstance(e.data, ClaimRegistered)
    }
    for action in (a for a in actions() if a.kind == "register"):
        body = ClaimIn.model_validate(action.body)
        event = registered[action.invoice]
        assert body.invoice_number == action.invoice
        assert (body.amount, body.currency) == (str(event.amount), event.currency)
        assert (body.issued_on, body.due_on) == (event.issued_on, event.due_on)
        (contact,) = body.debtor.contacts
        assert "@" in contact.email and not contact.email.startswith("pii:")
        assert re.fullmatch(r"\+[1-9]\d{6,14}", contact.phone)
        assert body.debtor.postal_address.country == body.debtor.country


def test_instalments_add_up_to_the_balance_in_the_currency_s_unit():
    days = ["2031-04-01", "2031-05-01", "2031-06-01"]

    euros = instalments(Decimal("1000.00"), "EUR", days)
    yen = instalments(Decimal("100000"), "JPY", days)

    assert [i["amount"] for i in euros] == ["333.33", "333.33", "333.34"]
    assert [i["amount"] for i in yen] == ["33333", "33333", "33334"]
    assert [i["due_on"] for i in euros] == days


def test_the_moved_clock_is_at_the_first_day_at_the_moment_asked_and_runs_at_the_speed():
    at = datetime(2031, 1, 10, 9, 30, tzinfo=UTC)
    setting = clock_from_setting(moved_clock(START, 86_400, at))

    def moved(real: datetime) -> datetime:
        return AcceleratedClock(setting.epoch, setting.speed, FrozenClock(real)).now()

    first = datetime(2031, 3, 3, tzinfo=UTC)
    assert abs(moved(at) - first) < timedelta(seconds=1)
    assert abs(moved(at + timedelta(seconds=2)) - (first + timedelta(days=2))) < timedelta(
        seconds=1
    )


def test_the_tally_counts_claims_messages_and_open_disputes():
    tally = Tally()
    for _ in range(3):
        tally.see("/amiable/claims", ClaimRegistered.type)
    tally.see("/amiable/claims", ClaimSettled.type)
    tally.see("/amiable/communications", CommunicationSent.type)
    tally.see("/amiable/disputes", DisputeOpened.type)
    tally.see("/amiable/disputes", DisputeOpened.type)
    tally.see("/amiable/disputes", DisputeResolved.type)

    assert (tally.registered, tally.open, tally.settled) == (3, 2, 1)
    assert (tally.messages_sent, tally.disputes_open, tally.events) == (1, 1, 8)
    assert tally.by_service == {"claims": 4, "communications": 1, "disputes": 3}
    line = tally.line(datetime(2031, 3, 4, 9, 0, tzinfo=UTC))
    assert line.startswith("2031-03-04 09:00  claims 3 registered, 2 open, 1 settled")
    assert "1 messages sent, 1 disputes open" in line
