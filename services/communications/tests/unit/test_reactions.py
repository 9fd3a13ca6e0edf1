"""What communications queues, defers, releases and suppresses on a debtor account's log, through
the pure parts the service runs (tests.communications_givens.play)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from amiable_communications.domain.evolve import evolve
from amiable_communications.domain.firing import timers
from amiable_communications.domain.state import Preferences
from amiable_events.claims import DebtorPersonalDataErased, PromiseToPayRecorded
from amiable_events.communications import (
    CommunicationDeferred,
    CommunicationQueued,
    CommunicationReleased,
    CommunicationSuppressed,
    ContactPreferencesSet,
)
from amiable_events.dunning import DunningStepDue
from amiable_events.envelope import Envelope
from amiable_events.ids import keyed_id
from amiable_rules.business_days import is_business_day
from tests.communications_givens import RULES, play, reachable
from tests.risk_givens import History, at

ISSUED = date(2026, 9, 1)  # a Tuesday
DUE = ISSUED + timedelta(days=30)
LATER = at(ISSUED + timedelta(days=200))
PARIS = ZoneInfo("Europe/Paris")


def account_event(history: History, event, when) -> Envelope:
    return Envelope(
        id=keyed_id("comms-test", str(when), event.type),
        subject=event.subject,
        time=when,
        tenant=history.tenant,
        debtor_id=history.debtor_id,
        correlation_id=keyed_id("comms-test-correlation", str(when)),
        data=event,
    )


def test_every_dunning_step_queues_one_message_which_the_governor_releases_or_defers():
    history = reachable()
    history.claim(ISSUED)
    played = play(history, LATER)
    steps = played.log_events(DunningStepDue)
    queued = played.events(CommunicationQueued)
    assert len(steps) >= 5
    assert [q.step for q in queued] == [s.step for s in steps]
    assert len({q.communication_id for q in queued}) == len(queued)
    released = {r.communication_id for r in played.events(CommunicationReleased)}
    assert released == {q.communication_id for q in queued}
    formal = next(q for q in queued if q.step == "formal_notice")
    assert formal.details.amount_due is not None and formal.details.payment_deadline is not None


def test_releases_keep_to_hours_business_days_and_caps():
    history = reachable()
    for n in range(4):
        history.claim(ISSUED + timedelta(days=7 * n))
    played = play(history, LATER)
    released = [r.released_at.astimezone(PARIS) for r in played.events(CommunicationReleased)]
    assert len(released) >= 10
    for moment in released:
        assert 8 <= moment.hour < 20
        assert is_business_day(moment.date(), "FR")
    per_day = Counter(moment.date() for moment in released)
    assert max(per_day.values()) == 1
    days = sorted(per_day)
    for first in days:
        window = [d for d in days if first <= d < first + timedelta(days=7)]
        assert len(window) <= 3
    assert played.events(CommunicationDeferred), "four claims' steps must collide somewhere"


def test_a_consolidated_group_is_one_message():
    history = reachable()
    first = history.claim(ISSUED)
    second = history.claim(ISSUED)
    played = play(history, LATER)
    grouped = [s for s in played.log_events(DunningStepDue) if len(s.group) == 2]
    assert grouped, "two claims due the same day are consolidated by dunning"
    for key in {(s.group_id, s.channel) for s in grouped}:
        messages = [q for q in played.events(CommunicationQueued) if (q.group_id, q.channel) == key]
        assert len(messages) == 1
        assert set(messages[0].claims) == {first, second}


def test_an_opted_out_debtor_gets_nothing():
    history = reachable()
    history.claim(ISSUED)
    opt_out = ContactPreferencesSet(
        debtor_id=history.debtor_id, opted_out=True, set_by="agent", set_at=at(ISSUED)
    )
    played = play(history, LATER, extra=[account_event(history, opt_out, at(ISSUED))])
    assert played.events(DunningStepDue) == []  # dunning's own
    assert played.events(CommunicationQueued) == []
    assert played.events(CommunicationReleased) == []
    reasons = {s.reason for s in played.events(CommunicationSuppressed)}
    assert reasons == {"opted_out"}


def test_the_preferred_channel_goes_first_among_the_step_s_channels():
    history = reachable()
    history.claim(ISSUED)
    prefer = ContactPreferencesSet(
        debtor_id=history.debtor_id, preferred_channel="email", set_by="agent", set_at=at(ISSUED)
    )
    played = play(history, LATER, extra=[account_event(history, prefer, at(ISSUED))])
    formal = next(q for q in played.events(CommunicationQueued) if q.step == "formal_notice")
    assert formal.channel == "email"  # the step goes by registered_letter, then email


def test_a_debtor_without_an_address_is_not_written_to():
    history = History("acme")  # no contacts, no postal address
    history.claim(ISSUED)
    played = play(history, LATER)
    assert played.events(CommunicationQueued) == []
    assert {s.reason for s in played.events(CommunicationSuppressed)} == {"no_address"}


def state_after_first_queued(played):
    """The account right after its first message was queued, before its timer fired."""
    account = None
    for envelope in played.log:
        account = evolve(account, envelope)
        if isinstance(envelope.data, CommunicationQueued):
            return account, envelope.data
    raise AssertionError("nothing was queued")


def test_a_queued_message_is_looked_at_again_when_due():
    history = reachable()
    history.claim(ISSUED)
    account, queued = state_after_first_queued(play(history, LATER))
    comm_id = str(queued.communication_id)
    (timer,) = timers(account, RULES)
    assert isinstance(timer.event, CommunicationReleased)
    claim = account.claim(str(queued.claim_id))
    settled = claim.model_copy(
        update={"ledger": claim.ledger.model_copy(update={"status": "settled"})}
    )
    cases = {
        "claim_closed": account.with_claim(settled),
        "claim_paused": account.with_claim(claim.model_copy(update={"dunning": "paused"})),
        "debtor_erased": account.model_copy(update={"erased": True}),
        "opted_out": account.model_copy(
            update={"preferences": Preferences(opted_out_channels=(queued.channel,))}
        ),
    }
    for reason, changed in cases.items():
        (timer,) = timers(changed, RULES)
        assert isinstance(timer.event, CommunicationSuppressed), reason
        assert (timer.event.reason, str(timer.event.communication_id)) == (reason, comm_id)


def test_a_promise_is_confirmed_and_a_chased_claim_settled_is_thanked():
    history = reachable()
    claim_id = history.claim(ISSUED)
    promised_on = DUE + timedelta(days=40)
    history.add(
        PromiseToPayRecorded(
            claim_id=claim_id,
            promise_id=keyed_id("promise", str(claim_id)),
            amount="1000.00",
            promised_on=promised_on,
            source_channel="call",
            grace_days=3,
            recorded_at=at(DUE + timedelta(days=20)),
        ),
        at(DUE + timedelta(days=20)),
    )
    history.settle(claim_id, promised_on)
    played = play(history, LATER)
    templates = [q.template for q in played.events(CommunicationQueued)]
    assert "confirm.promise" in templates
    assert templates[-1] == "thanks.settled"
    confirmation = next(
        q for q in played.events(CommunicationQueued) if q.purpose != "dunning_step"
    )
    assert confirmation.kind == "transactional" and confirmation.channel == "email"


def test_a_claim_paid_before_any_reminder_gets_no_message():
    history = reachable()
    claim_id = history.claim(ISSUED)
    history.settle(claim_id, DUE - timedelta(days=10))
    played = play(history, LATER)
    assert played.events() == []


def test_nothing_is_written_to_an_erased_debtor():
    history = reachable()
    history.claim(ISSUED)
    erased = DebtorPersonalDataErased(debtor_id=history.debtor_id, erased_at=at(ISSUED))
    played = play(history, LATER, extra=[account_event(history, erased, at(ISSUED))])
    assert played.events(CommunicationQueued) == []
    assert {s.reason for s in played.events(CommunicationSuppressed)} == {"debtor_erased"}
