"""The generated history: reproducible, on contract, consistent with the rules, and each kind of
debtor behaving as its name says."""

from __future__ import annotations

import itertools
import json
import statistics
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

from cloudevents.core.formats.json import JSONFormat
from jsonschema import Draft202012Validator

from amiable_demo.behaviours import BEHAVIOURS
from amiable_demo.generate import DebtorHistory, History, Plan, generate
from amiable_demo.ndjson import from_line, read_ndjson, to_line, write_ndjson
from amiable_events.base import SEALED_PREFIX
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimRegistered,
    ClaimSettled,
    ClaimWrittenOff,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
)
from amiable_events.disputes import DisputeOpened
from amiable_events.personal import open_with
from amiable_events.risk import InsolvencyRecorded
from amiable_rules.late_fees import LateFeeRules, Movement, Suspension, amount_due

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas"
PLAN = Plan(claims=1_500, seed=7, tenants=("acme", "globex"))


@cache
def history() -> History:
    return generate(PLAN)


def by_behaviour(name: str) -> list[DebtorHistory]:
    return [debtor for debtor in history().debtors if debtor.behaviour == name]


def of_type(debtor: DebtorHistory, kind: type) -> list:
    return [envelope.data for envelope in debtor.envelopes if isinstance(envelope.data, kind)]


def days_late(debtor: DebtorHistory) -> list[int]:
    """Days from due date to settlement of each settled claim, in the order of issue."""
    registered = {event.claim_id: event for event in of_type(debtor, ClaimRegistered)}
    settled = sorted(
        (claim.issued_on, (event.settled_on - claim.due_on).days)
        for event in of_type(debtor, ClaimSettled)
        for claim in [registered[event.claim_id]]
    )
    return [days for _, days in settled]


def test_the_same_plan_gives_the_same_bytes_and_another_seed_other_ones():
    plan = Plan(claims=300, seed=11)
    first = b"".join(to_line(e) for e in generate(plan).envelopes)
    again = b"".join(to_line(e) for e in generate(plan).envelopes)
    other = b"".join(to_line(e) for e in generate(Plan(claims=300, seed=12)).envelopes)

    assert first == again
    assert first != other


def test_the_history_has_the_claims_asked_for_across_tenants_countries_and_behaviours():
    envelopes = history().envelopes
    registered = [e for e in envelopes if isinstance(e.data, ClaimRegistered)]

    assert len(registered) == PLAN.claims
    assert {e.tenant for e in envelopes} == {"acme", "globex"}
    countries = {e.data.debtor.country for e in registered}
    assert countries == {"FR", "DE", "NL", "SE", "IN", "JP", "AE", "US", "GB", "ES", "IT"}
    assert {d.behaviour for d in history().debtors} == set(BEHAVIOURS)
    assert all(e.key == f"{e.tenant}:{e.debtor_id}" for e in envelopes)


def test_a_mix_of_one_behaviour_gives_only_that_behaviour():
    only = generate(Plan(claims=200, mix={"reliable": 1}))

    assert {debtor.behaviour for debtor in only.debtors} == {"reliable"}


def test_every_line_matches_its_json_schema_decodes_and_is_a_cloudevent():
    validators = {}
    for envelope in history().envelopes:
        line = to_line(envelope)
        if envelope.type not in validators:
            schema = json.loads((SCHEMAS / f"{envelope.type}.json").read_text())
            validators[envelope.type] = Draft202012Validator(schema)
        event = json.loads(line)
        errors = list(validators[envelope.type].iter_errors(event["data"]))
        assert not errors, (envelope.type, errors[0].message)
        assert from_line(line) == envelope
    sample = to_line(history().envelopes[0])
    cloud_event = JSONFormat().read(None, sample)
    assert cloud_event.get_type() == "amiable.claims.claim-registered.v1"
    assert cloud_event.get_extension("partitionkey") == history().envelopes[0].key
    assert cloud_event.get_data() == json.loads(sample)["data"]


def test_a_file_reads_back_as_the_envelopes_written(tmp_path):
    path = tmp_path / "history.ndjson"
    envelopes = generate(Plan(claims=200, seed=3)).envelopes

    written = write_ndjson(envelopes, path)

    assert written == len(envelopes) == len(path.read_bytes().splitlines())
    assert list(read_ndjson(path)) == envelopes


def test_events_are_in_time_order_and_each_claim_starts_with_its_registration():
    envelopes = history().envelopes
    assert all(a.time <= b.time for a, b in itertools.pairwise(envelopes))
    first_of = {}
    for envelope in envelopes:
        first_of.setdefault(envelope.subject, envelope.type)
    assert all(
        kind == ClaimRegistered.type
        for subject, kind in first_of.items()
        if not subject.startswith("debtor:")
    )
    assert max(e.time for e in envelopes).date() <= PLAN.end


def test_personal_data_is_sealed_and_opens_with_the_accounts_key():
    keys = history().keys()
    for debtor in history().debtors[:20]:
        registered = of_type(debtor, ClaimRegistered)[0]
        contact = registered.debtor.contacts[0]
        for sealed in (contact.name, contact.email, contact.phone, contact.role_sealed):
            assert sealed.startswith(SEALED_PREFIX)
        assert open_with(keys[debtor.account], debtor.account, contact.role_sealed) == (
            "accounts payable"
        )
        assert "@" in open_with(keys[debtor.account], debtor.account, contact.email)


def test_a_settled_claim_was_paid_everything_due_and_not_before_its_last_payment():
    rules = LateFeeRules.load()
    for debtor in history().debtors:
        registered = {}
        movements = defaultdict(list)
        plans = {}
        defaulted = {}
        for envelope in debtor.envelopes:
            event = envelope.data
            if isinstance(event, ClaimRegistered):
                registered[event.claim_id] = event
            elif isinstance(event, PaymentReceived):
                payment = Movement(event.received_on, "payment", event.amount)
                movements[event.claim_id].append(payment)
            elif isinstance(event, ClaimAdjusted):
                credit = Movement(event.adjusted_on, "credit", event.amount)
                movements[event.claim_id].append(credit)
            elif isinstance(event, PaymentPlanAgreed):
                plans[event.claim_id] = event.agreed_on
            elif isinstance(event, PaymentPlanDefaulted):
                defaulted[event.claim_id] = event.due_on
            elif isinstance(event, ClaimSettled):
                claim = registered[event.claim_id]
                suspended = (
                    [Suspension(plans[event.claim_id], None)] if event.claim_id in plans else []
                )
                assert event.claim_id not in defaulted  # the generator pays plans it keeps

                def owed(moves, on, claim=claim, suspended=suspended):
                    return amount_due(
                        principal=claim.amount,
                        currency=claim.currency,
                        due_on=claim.due_on,
                        movements=moves,
                        as_of=on,
                        rule=rules.resolve(claim.governing_law),
                        suspensions=suspended,
                    )

                moves = movements[event.claim_id]
                assert owed(moves, event.settled_on).total == 0
                assert owed(moves[:-1], event.settled_on).total > 0
                assert event.overpaid == owed(moves, event.settled_on).overpaid


def test_some_claims_are_still_open_at_the_end_some_of_them_overdue():
    closed = {
        envelope.subject
        for envelope in history().envelopes
        if isinstance(envelope.data, (ClaimSettled, ClaimWrittenOff, ClaimCancelled))
    }
    open_claims = [
        e.data
        for e in history().envelopes
        if isinstance(e.data, ClaimRegistered) and e.subject not in closed
    ]
    assert len(open_claims) >= PLAN.claims // 50
    assert any(claim.due_on < PLAN.end for claim in open_claims)


def test_reliable_debtors_mostly_pay_within_a_few_days_of_the_due_date():
    late = [days for debtor in by_behaviour("reliable") for days in days_late(debtor)]

    assert sum(days <= 10 for days in late) / len(late) > 0.9


def test_slowing_debtors_pay_later_claim_after_claim():
    for debtor in by_behaviour("slowing"):
        late = days_late(debtor)
        third = len(late) // 3
        assert statistics.mean(late[-third:]) > statistics.mean(late[:third]) + 5, late


def test_chronic_late_payers_pay_a_month_or_two_late_and_break_promises():
    debtors = by_behaviour("chronic_late_payer")
    late = [days for debtor in debtors for days in days_late(debtor)]

    assert 30 <= statistics.median(late) <= 60
    assert sum(len(of_type(debtor, PromiseBroken)) for debtor in debtors) >= len(debtors)


def test_loyal_debtors_in_difficulty_pay_on_time_for_years_then_agree_a_plan():
    for debtor in by_behaviour("loyal_temporary_difficulty"):
        [plan] = of_type(debtor, PaymentPlanAgreed)
        registered = {c.claim_id: c for c in of_type(debtor, ClaimRegistered)}
        on_plan = registered[plan.claim_id]
        first = min(c.issued_on for c in registered.values())
        assert (on_plan.issued_on - first).days > 365
        before = [
            (e.settled_on - registered[e.claim_id].due_on).days
            for e in of_type(debtor, ClaimSettled)
            if registered[e.claim_id].issued_on < on_plan.issued_on
        ]
        assert sum(days <= 10 for days in before) / len(before) > 0.8


def test_disputing_debtors_dispute_many_claims_and_get_credit_notes_after():
    for debtor in by_behaviour("disputing"):
        opened = {}
        credited = set()
        for envelope in debtor.envelopes:
            event = envelope.data
            if isinstance(event, DisputeOpened):
                opened[event.claim_id] = event
            elif isinstance(event, ClaimAdjusted | ClaimCancelled):
                assert event.claim_id in opened, "a credit note with no dispute before it"
                assert opened[event.claim_id].opened_at < envelope.time
                credited.add(event.claim_id)
        assert len(credited) >= len(of_type(debtor, ClaimRegistered)) // 4
        adjusted = {e.claim_id: e.amount for e in of_type(debtor, ClaimAdjusted)}
        for claim_id, amount in adjusted.items():
            assert opened[claim_id].disputed_amount == amount
            assert not opened[claim_id].whole_claim


def test_insolvent_debtors_stop_paying_enter_proceedings_and_are_written_off():
    for debtor in by_behaviour("insolvent"):
        [insolvency] = of_type(debtor, InsolvencyRecorded)
        registered = of_type(debtor, ClaimRegistered)
        written_off = of_type(debtor, ClaimWrittenOff)
        assert all(c.registered_at < insolvency.recorded_at for c in registered)
        assert written_off
        assert all(w.written_off_at > insolvency.recorded_at for w in written_off)
        assert Counter(type(e.data).__name__ for e in debtor.envelopes)["ClaimSettled"] < len(
            registered
        )
