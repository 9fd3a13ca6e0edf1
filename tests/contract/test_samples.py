"""The sample streams (``amiable events sample``, ``amiable_demo.samples``) are what the
services write: every record validates against its committed schema and reads back through
the consumers' own decoder; each service-written event is exactly what that service's pure
reactions and timers give from the events before it; the stories end where they say; and the
committed fixtures of the consumer starter are today's bytes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from amiable_claims.domain import disputes as claims_disputes
from amiable_claims.domain import proceedings
from amiable_claims.domain.evolve import evolve as claims_evolve
from amiable_claims.domain.evolve import fold as claims_fold
from amiable_claims.domain.figures import amount_due as claims_amount_due
from amiable_claims.domain.state import Policy as ClaimsPolicy
from amiable_claims.domain.timers import desired_timers, timer_event
from amiable_cli.main import app
from amiable_communications.domain import firing as communications_firing
from amiable_communications.domain import react as communications_react
from amiable_communications.domain.evolve import evolve as communications_evolve
from amiable_communications.domain.governor import RuleBook
from amiable_demo import samples, sealing
from amiable_demo.ndjson import from_line, to_line
from amiable_dunning.domain import firing as dunning_firing
from amiable_dunning.domain import react as dunning_react
from amiable_dunning.domain.evolve import evolve as dunning_evolve
from amiable_dunning.domain.policy import Policy as DunningPolicy
from amiable_events import ledger
from amiable_events.base import SEALED_PREFIX
from amiable_events.catalog import REGISTRY
from amiable_events.claims import DebtorPersonalDataErased
from amiable_events.communications import CommunicationDelivered, CommunicationSent
from amiable_events.envelope import Envelope, service_actor
from amiable_events.ids import caused_id, caused_steps, timer_event_id
from amiable_events.personal import ERASED, open_with
from amiable_events.schemas import SCHEMAS_DIR
from amiable_risk.domain.evolve import REACTS_TO
from amiable_risk.domain.evolve import evolve as risk_evolve
from amiable_risk.domain.publish import assessed
from amiable_risk.domain.publish import react as risk_react
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.timers import next_review
from amiable_rules.limitation import LimitationRules
from tests.contract.test_producers import FORMATS

pytestmark = pytest.mark.contract

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "consumer" / "samples"
NAMES = list(samples.SCENARIOS)


@pytest.fixture(scope="module")
def streams() -> dict[str, list[Envelope]]:
    return {name: samples.scenario(name) for name in NAMES}


@pytest.fixture(scope="module")
def examples() -> dict[str, Envelope]:
    return samples.examples()


def _everything(streams, examples) -> list[Envelope]:
    return [e for stream in streams.values() for e in stream] + list(examples.values())


def _schema_problems(envelope: Envelope) -> list[str]:
    schema = json.loads((SCHEMAS_DIR / f"{envelope.type}.json").read_text())
    payload = json.loads(envelope.data.model_dump_json())
    validator = Draft202012Validator(schema, format_checker=FORMATS)
    return [f"{envelope.type}: {e.json_path}: {e.message}" for e in validator.iter_errors(payload)]


def test_the_scenarios_are_the_cli_contract():
    assert NAMES == [
        "paid-on-time",
        "chased-then-paid",
        "disputed-then-adjusted",
        "plan-defaulted-then-escalated",
        "debtor-erased",
    ]
    with pytest.raises(ValueError, match="paid-on-time, chased-then-paid"):
        samples.scenario("paid-late")


def test_every_record_validates_and_reads_back_as_the_log_would(streams, examples):
    problems = []
    for envelope in _everything(streams, examples):
        problems += _schema_problems(envelope)
        back = from_line(to_line(envelope))
        if back != envelope:
            problems.append(f"{envelope.type} {envelope.id} reads back as {back}")
    assert not problems, "\n".join(problems)


def test_examples_cover_every_registered_type(examples):
    assert set(examples) == set(REGISTRY.models)
    assert all(envelope.type == ce_type for ce_type, envelope in examples.items())


def test_examples_are_the_scenarios_first_events_of_their_type(streams, examples):
    firsts: dict[str, Envelope] = {}
    for stream in streams.values():
        for envelope in stream:
            firsts.setdefault(envelope.type, envelope)
    assert len(firsts) == 27
    assert {t: examples[t] for t in firsts} == firsts


def test_one_account_and_tenant_per_scenario(streams):
    for name, stream in streams.items():
        assert {e.key for e in stream} == {stream[0].key}, name
        assert stream[0].tenant == samples.TENANT
        assert [e.id for e in stream] == list(dict.fromkeys(e.id for e in stream)), name


@pytest.mark.parametrize("name", NAMES)
def test_the_committed_sample_is_what_the_scenario_writes_today(name, streams):
    committed = (SAMPLES_DIR / f"{name}.ndjson").read_bytes()
    today = b"".join(to_line(envelope) + b"\n" for envelope in streams[name])
    assert committed == today, (
        f"examples/consumer/samples/{name}.ndjson is stale; regenerate it with: amiable events "
        f"sample --scenario {name} --out examples/consumer/samples/{name}.ndjson"
    )


def test_the_cli_writes_the_committed_bytes_and_lists_the_scenarios(tmp_path):
    runner = CliRunner()
    out = tmp_path / "sample.ndjson"
    written = runner.invoke(
        app, ["events", "sample", "--scenario", "chased-then-paid", "--out", str(out)]
    )
    assert written.exit_code == 0, written.output
    assert out.read_bytes() == (SAMPLES_DIR / "chased-then-paid.ndjson").read_bytes()
    printed = runner.invoke(app, ["events", "sample", "--scenario", "paid-on-time"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.encode() == (SAMPLES_DIR / "paid-on-time.ndjson").read_bytes()
    listed = runner.invoke(app, ["events", "sample", "--list"])
    assert listed.stdout.split() == NAMES
    unknown = runner.invoke(app, ["events", "sample", "--scenario", "paid-late"])
    assert unknown.exit_code != 0


# --- the services' own pure code tells the same story ---------------------------------------

FIGURES = samples.FIGURES
CLAIMS_POLICY = ClaimsPolicy(
    late_fees=FIGURES.late_fees,
    limitation=LimitationRules.load(),
    governing_laws=FIGURES.governing_laws,
)
SCORECARD = Scorecard.load()
RULES = RuleBook.shipped()


def _claims_by_subject(state, envelope):
    state = dict(state or {})
    claim = claims_evolve(state.get(envelope.subject), envelope)
    if claim is not None:
        state[envelope.subject] = claim
    return state


def _claims_timers(state):
    return [
        (spec.timer_id, spec.due_at, timer_event(spec.kind, spec.payload, spec.due_at))
        for claim in (state or {}).values()
        for spec in desired_timers(claim, CLAIMS_POLICY)
    ]


def _risk_timers(account):
    review = None if account is None else next_review(account, SCORECARD)
    if review is None:
        return []
    timer_id = f"review:{samples.TENANT}:{account.debtor_id}:{review.day.isoformat()}"
    event = assessed(account.debtor_id, review.assessment, "time_passed", review.due_at)
    return [(timer_id, review.due_at, event)]


def _dunning_timers(desk):
    if desk.account is None:
        return []
    return [(t.timer_id, t.due_at, t.event) for t in dunning_firing.timers(desk.account, FIGURES)]


def _communications_timers(account):
    if account is None:
        return []
    return [(t.timer_id, t.due_at, t.event) for t in communications_firing.timers(account, RULES)]


#: Each service as its reactor and timer loop see the log: (evolve, reactions, timers, start).
SERVICES = {
    "claims": (
        proceedings.evolve_account,
        {**proceedings.REACTIONS, **claims_disputes.REACTIONS},
        lambda state: [],
        None,
    ),
    "claims-timers": (_claims_by_subject, {}, _claims_timers, None),
    "risk": (
        partial(risk_evolve, scorecard=SCORECARD),
        dict.fromkeys(REACTS_TO, risk_react),
        _risk_timers,
        None,
    ),
    "dunning": (
        dunning_react.evolve_desk,
        dunning_react.TABLE,
        _dunning_timers,
        dunning_react.Desk(None, dunning_react.PolicyBook(DunningPolicy.load()), FIGURES),
    ),
    "communications": (
        communications_evolve,
        communications_react.TABLE,
        _communications_timers,
        None,
    ),
}


#: What the communications sender appends once a channel answered: no fold decides it.
SENDER = (CommunicationSent, CommunicationDelivered)


def _service(name: str) -> str:
    return name.split("-")[0]


def _replay(stream: list[Envelope]) -> list[str]:
    """Plays the stream through the services' folds, reactions and timers; what disagrees."""
    states = {name: spec[3] for name, spec in SERVICES.items()}
    reactions: dict = {}
    fired: set = set()
    problems = []
    for envelope in stream:
        writer = (envelope.actor or "").removeprefix("service:")
        timers = {
            timer_event_id(_service(name), timer_id): (due_at, event)
            for name, spec in SERVICES.items()
            for timer_id, due_at, event in spec[2](states[name])
        }
        for event_id, (due_at, event) in timers.items():
            if due_at < envelope.time and event_id != envelope.id and event_id not in fired:
                fired.add(event_id)
                problems.append(f"a timer due {due_at} never fired: {event!r}")
        if envelope.id in timers:
            assert timers[envelope.id] == (envelope.time, envelope.data), envelope
        elif envelope in reactions.get(envelope.causation_id, {}).get(writer, []):
            reactions[envelope.causation_id][writer].remove(envelope)
        elif writer in SERVICES and type(envelope.data) not in SENDER:
            problems.append(f"{envelope.type} of {writer} is neither a reaction nor a timer")
        for name, (evolve, table, _, _) in SERVICES.items():
            states[name] = evolve(states[name], envelope)
            react = table.get(type(envelope.data))
            if react is not None and states[name] is not None:
                events = list(react(states[name], envelope))
                reactions.setdefault(envelope.id, {})[name] = [
                    envelope.caused(
                        event,
                        id=caused_id(envelope.id, name, step),
                        time=envelope.time,
                        subject=event.subject,
                        actor=service_actor(name),
                    )
                    for event, step in zip(events, caused_steps(events), strict=True)
                ]
    missing = [e for by in reactions.values() for es in by.values() for e in es]
    problems += [f"no {e.type} in reaction to {e.causation_id}" for e in missing]
    return problems


@pytest.mark.parametrize("name", NAMES)
def test_each_service_written_event_is_what_the_service_would_write(name, streams):
    assert _replay(streams[name]) == []


def _claims(stream: list[Envelope]) -> dict:
    subjects = dict.fromkeys(e.subject for e in stream if e.type.startswith("amiable.claims"))
    folded = {s: claims_fold([e for e in stream if e.subject == s]) for s in subjects}
    return {s: claim for s, claim in folded.items() if claim is not None}


def _ledger(stream: list[Envelope]):
    state = None
    for envelope in stream:
        state = ledger.fold(state, envelope.data, envelope.tenant)
    return state


def _dunning(stream: list[Envelope]):
    account = None
    for envelope in stream:
        account = dunning_evolve(account, envelope)
    (claim,) = account.claims.values()
    return claim


@pytest.mark.parametrize("name", ["paid-on-time", "chased-then-paid"])
def test_a_paid_claim_is_settled_with_nothing_due_and_unchased(name, streams):
    stream = streams[name]
    (claim,) = _claims(stream).values()
    assert claim.status == "settled"
    assert claims_amount_due(claim, date(2026, 12, 31), CLAIMS_POLICY).total == 0
    assert _ledger(stream).status == "settled"
    dunning = _dunning(stream)
    assert (dunning.status, dunning.stop_reason) == ("stopped", "claim_settled")


def test_chased_then_paid_pays_interest_and_the_fixed_fee(streams):
    stream = streams["chased-then-paid"]
    payment = next(e.data for e in stream if e.type.endswith("payment-received.v1"))
    assert payment.amount > Decimal("3180.00") + Decimal("40.00")
    sent = [e.data.channel for e in stream if e.type.endswith("communication-sent.v1")]
    assert sent == ["phone", "email", "email"]  # the call, the reminder, the thanks


def test_disputed_then_adjusted_is_open_for_the_adjusted_amount_and_chased_again(streams):
    stream = streams["disputed-then-adjusted"]
    (claim,) = _claims(stream).values()
    assert claim.status == "qualified"
    assert claim.unpaid_principal == Decimal("3600.00")
    assert _ledger(stream).unpaid_principal == Decimal("3600.00")
    dunning = _dunning(stream)
    assert dunning.status == "active"
    assert dunning.pending[0].step.key == "email_reminder"


def test_plan_defaulted_then_escalated_ends_escalated_and_still_owed(streams):
    stream = streams["plan-defaulted-then-escalated"]
    (claim,) = _claims(stream).values()
    assert claim.status == "escalated"
    assert claim.plan is not None and claim.plan.defaulted_on is not None
    assert _ledger(stream).status == "escalated"
    assert 0 < claim.unpaid_principal < Decimal("6000.00")  # the first instalment was paid
    types = [e.type.split(".")[2] for e in stream]
    assert types.index("installment-missed") < types.index("payment-plan-defaulted")
    assert types[-5:-3] == ["step-due", "claim-escalated"]  # then the lawyer's task


def _sealed(value) -> list[str]:
    if isinstance(value, str):
        return [value] if value.startswith(SEALED_PREFIX) else []
    if isinstance(value, dict):
        return [s for v in value.values() for s in _sealed(v)]
    if isinstance(value, list):
        return [s for v in value for s in _sealed(v)]
    return []


def test_after_the_erasure_the_debtors_personal_data_opens_to_nothing(streams):
    stream = streams["debtor-erased"]
    assert isinstance(stream[-1].data, DebtorPersonalDataErased)
    assert stream[-1].subject == f"debtor:{stream[-1].debtor_id}"
    account = stream[-1].key
    tokens = [t for e in stream for t in _sealed(json.loads(e.data.model_dump_json()))]
    assert len(tokens) >= 10  # the registration's contact, address, description; the amendment's
    key = sealing.account_key(account)
    assert all(open_with(key, account, token) != ERASED for token in tokens)
    assert {open_with(None, account, token) for token in tokens} == {ERASED}  # key shredded
