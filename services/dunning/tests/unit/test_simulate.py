"""What-if: a history replayed in memory against a policy, the candidate beside another."""

from __future__ import annotations

import copy
from datetime import timedelta
from importlib.resources import files

import yaml

from amiable_dunning.domain.policy import Policy
from amiable_dunning.domain.simulate import Totals, by_track, from_states, simulate
from amiable_events.dunning import DunningPlanScheduled
from tests.dunning_givens import FIGURES, play
from tests.risk_givens import TODAY, History, at

SHIPPED = Policy.load()


def shorter() -> Policy:
    """The shipped policy with a standard track twice as quick: every step at half its offset."""
    data = yaml.safe_load(
        files("amiable_dunning").joinpath("data/policies/default.yaml").read_text()
    )
    data = copy.deepcopy(data)
    data["version"] = "quick-1"
    for step in data["tracks"]["standard_b2b"]["steps"]:
        step["offset_business_days"] = step["offset_business_days"] // 2
    return Policy.model_validate(data)


def late_payers() -> History:
    """Three claims due well before today, each paid 30 days after its due date, and one paid
    on time: the quicker a track, the more it contacts them before the money comes."""
    history = History("acme", "D-late")
    start = TODAY - timedelta(days=200)
    for n in range(3):
        issued = start + timedelta(days=7 * n)
        claim_id = history.claim(issued)
        history.settle(claim_id, issued + timedelta(days=60))
    on_time = history.claim(start)
    history.settle(on_time, start + timedelta(days=20))
    return history


def test_a_quicker_track_contacts_more_and_sooner_than_the_shipped_one():
    history = late_payers().envelopes
    quick = Totals.of(simulate(history, shorter(), FIGURES))
    shipped = Totals.of(simulate(history, SHIPPED, FIGURES))
    assert quick.claims == shipped.claims == 4
    assert quick.sent > shipped.sent
    assert quick.reminders_per_claim > shipped.reminders_per_claim
    assert quick.mean_days_to_first_contact < shipped.mean_days_to_first_contact
    # Paid on time, so never contacted by either
    assert quick.contacted == shipped.contacted == 3


def test_the_simulation_takes_the_steps_the_service_would():
    """The same history played through the service's own path (evolve, reactions, timers)
    sends the same steps on the same days."""
    history = late_payers()
    until = at(TODAY)
    runs = {run.claim_id: run for run in simulate(history.envelopes, SHIPPED, FIGURES, until=until)}
    played = play(history, until)
    for claim in played.account.claims.values():
        sent = sorted(
            r.step.planned_on for r in (*claim.history, *claim.steps) if r.status == "done"
        )
        assert [s.day for s in runs[claim.claim_id].steps if s.outcome == "sent"] == sent
    assert sum(run.contacts for run in runs.values()) > 0


def test_a_step_that_needs_a_person_waits_for_approval_and_the_days_count_from_the_due_date():
    history = History("acme", "D-never")
    claim_id = history.claim(TODAY - timedelta(days=300))
    (run,) = simulate(history.envelopes, SHIPPED, FIGURES, until=at(TODAY))
    assert run.claim_id == str(claim_id)
    assert run.track == "standard_b2b"
    outcomes = {s.key: s.outcome for s in run.steps}
    assert outcomes["litigation_handoff"] == "awaiting_approval"
    assert outcomes["formal_notice"] == "sent"
    # The standard track's first step is a call two business days after the due date
    assert run.steps[0].action == "call_task"
    assert 2 <= run.days_to_first_contact <= 4
    # The letter and its email copy the same day are one reminder
    assert run.reminders == 4
    assert run.contacts == 6


def test_the_history_s_own_dunning_events_are_left_out():
    """A plan the live service made (here a lie: no steps) does not stand in for the
    candidate's."""
    history = History("acme", "D-planned")
    claim_id = history.claim(TODAY - timedelta(days=100))
    history.add(
        DunningPlanScheduled(
            claim_id=claim_id,
            revision=1,
            steps=(),
            reason="claim_qualified",
            policy_id="other",
            policy_version="0",
            track="standard_b2b",
            max_reminders_per_stage=3,
            scheduled_at=at(TODAY - timedelta(days=100)),
        ),
        at(TODAY - timedelta(days=100)),
    )
    (run,) = simulate(history.envelopes, SHIPPED, FIGURES, until=at(TODAY))
    assert run.contacts > 0


def test_the_horizon_defaults_to_120_days_after_the_last_event():
    history = History("acme", "D-recent")
    history.claim(TODAY - timedelta(days=30))
    (bounded,) = simulate(history.envelopes, SHIPPED, FIGURES, until=at(TODAY - timedelta(days=25)))
    (default,) = simulate(history.envelopes, SHIPPED, FIGURES)
    assert bounded.contacts == 0
    assert default.contacts > 0
    assert default.steps[-1].day <= (TODAY - timedelta(days=30) + timedelta(days=120))


def test_totals_by_track_add_up_and_an_empty_history_gives_nothing():
    runs = simulate(late_payers().envelopes, SHIPPED, FIGURES)
    tracks = by_track(runs)
    assert set(tracks) == {"standard_b2b", "total"}
    assert tracks["total"].sent == sum(t.sent for k, t in tracks.items() if k != "total")
    assert simulate([], SHIPPED, FIGURES) == []


def test_claims_rebuilt_from_the_service_s_states_replay_as_their_history_does():
    """The claim filter's path: the states the projection holds after the real history,
    rebuilt into a history of their own, give the same steps."""
    history = late_payers()
    played = play(history, at(TODAY))
    account = played.account
    starts, rebuilt = from_states([account], set(account.claims))
    assert set(starts) == {"acme:D-late"}
    assert all(c.status == "waiting" and not c.steps for c in starts["acme:D-late"].claims.values())
    from_log = simulate(history.envelopes, SHIPPED, FIGURES, until=at(TODAY))
    from_state = simulate(rebuilt, SHIPPED, FIGURES, until=at(TODAY), accounts=starts)
    assert {r.claim_id: r.contacts for r in from_state} == {
        r.claim_id: r.contacts for r in from_log
    }
    one = next(iter(account.claims))
    only, _ = from_states([account], {one})
    assert set(only["acme:D-late"].claims) == {one}
