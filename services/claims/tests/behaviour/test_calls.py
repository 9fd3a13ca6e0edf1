"""Claims' reaction to an agent's call: given a claim and communications'
``CallOutcomeRecorded`` with a promise, then one ``PromiseToPayRecorded`` (source ``call``),
whatever the log repeats; nothing when the rules refuse it. And the tenant's and the debtor
account's communications settings, which claims ignores.

Every test runs on the in-memory log and runner and on the real Kafka and PostgreSQL (the
claims projector, its reactions loading the claim from it), marked ``integration``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amiable_claims.domain.calls import promise_id
from amiable_events.claims import PromiseToPayRecorded
from amiable_events.communications import (
    CallOutcomeRecorded,
    ContactPreferencesSet,
    CreditorProfile,
    CreditorProfileSet,
    Party,
    PromiseOutcome,
)
from amiable_events.envelope import Envelope
from amiable_events.ids import caused_id
from tests.behaviour import backends
from tests.claims_givens import POLICY, reacting_claims
from tests.factories import registered

CLAIMS = reacting_claims()

real_backend, backend = backends(CLAIMS)

RECORDED_AT = datetime(2026, 11, 20, 15, tzinfo=UTC)


@pytest.fixture
def tenant() -> str:
    return f"calls-{uuid.uuid4().hex[:8]}"


def on_log(claim: Envelope, event, at: datetime = RECORDED_AT) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=at,
        tenant=claim.tenant,
        debtor_id=claim.debtor_id,
        correlation_id=uuid.uuid4(),
        data=event,
    )


def call(claim: Envelope, amount: str = "500.00", on: date = date(2026, 12, 1)) -> Envelope:
    return on_log(
        claim,
        CallOutcomeRecorded(
            claim_id=claim.data.claim_id,
            communication_id=uuid.uuid4(),
            outcome="promise_to_pay",
            promise=PromiseOutcome(amount=Decimal(amount), date=on),
            notes="pii:v1:sealed-notes",
            agent="agent-7",
            recorded_at=RECORDED_AT,
        ),
    )


async def caused_by(backend, trigger: Envelope) -> list[Envelope]:
    return [e for e in await backend.log() if e.causation_id == trigger.id]


async def test_a_promise_on_a_call_is_recorded_once(backend, tenant):
    claim = registered(1, tenant=tenant)
    outcome = call(claim)
    await backend.given(claim, outcome)
    await backend.given(outcome)  # delivered again: the log holds it twice

    (recorded,) = await caused_by(backend, outcome)
    assert recorded.id == caused_id(outcome.id, "claims", PromiseToPayRecorded.type)
    assert recorded.actor == "service:claims"
    assert recorded.data == PromiseToPayRecorded(
        claim_id=claim.data.claim_id,
        promise_id=promise_id(tenant, claim.data.claim_id, outcome.id),
        amount=Decimal("500.00"),
        promised_on=date(2026, 12, 1),
        source_channel="call",
        grace_days=POLICY.promise_grace_days,
        recorded_at=RECORDED_AT,
    )
    promises = [e for e in await backend.log() if type(e.data) is PromiseToPayRecorded]
    assert len(promises) == 1


async def test_the_same_promise_told_on_a_second_call_is_not_recorded_again(backend, tenant):
    claim = registered(2, tenant=tenant)
    first, again = call(claim), call(claim)
    await backend.given(claim, first)
    await backend.given(again)

    assert len(await caused_by(backend, first)) == 1
    assert await caused_by(backend, again) == []


@pytest.mark.parametrize(
    ("amount", "on"),
    [("99999.00", date(2026, 12, 1)), ("500.00", date(2026, 11, 19)), ("500.001", None)],
    ids=["more-than-due", "date-past", "too-precise"],
)
async def test_a_promise_the_rules_refuse_records_nothing(backend, tenant, amount, on):
    claim = registered(3, tenant=tenant)
    refused = call(claim, amount, on or date(2026, 12, 1))
    accepted = call(claim, "100.00")
    await backend.given(claim, refused, accepted)

    assert await caused_by(backend, refused) == []
    # the account goes on: a later outcome on the same claim is recorded
    assert [e.type for e in await caused_by(backend, accepted)] == [PromiseToPayRecorded.type]


async def test_other_outcomes_and_communications_settings_change_nothing(backend, tenant):
    claim = registered(4, tenant=tenant)
    no_answer = on_log(
        claim,
        CallOutcomeRecorded(
            claim_id=claim.data.claim_id,
            communication_id=uuid.uuid4(),
            outcome="no_answer",
            agent="agent-7",
            recorded_at=RECORDED_AT,
        ),
    )
    preferences = on_log(
        claim,
        ContactPreferencesSet(
            debtor_id=claim.debtor_id,
            opted_out_channels=("sms",),
            set_by="user:clerk",
            set_at=RECORDED_AT,
        ),
    )
    profile = CreditorProfileSet(
        tenant=tenant,
        profile=CreditorProfile(
            creditor=Party(
                legal_name="Acme SA", address=("1 rue de la Paix",), registration_number="1"
            ),
            iban="FR7630006000011234567890189",
            reply_email="ar@acme.example",
        ),
        set_by="user:clerk",
        set_at=RECORDED_AT,
    )
    tenant_event = Envelope(
        id=uuid.uuid4(),
        subject=profile.subject,
        time=RECORDED_AT,
        tenant=tenant,
        debtor_id="",
        correlation_id=uuid.uuid4(),
        data=profile,
    )
    await backend.given(claim, no_answer, preferences, tenant_event)
    outcome = call(claim)
    await backend.given(outcome)  # the account is not parked: it still reacts

    caused = [e for e in await backend.log() if e.tenant == tenant and e.causation_id]
    assert [e.causation_id for e in caused] == [outcome.id]
