"""The policy file: the shipped one loads, and every rule refuses a bad one with the path and the
reason."""

from __future__ import annotations

import copy
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from amiable_dunning.domain.policy import Policy

CHRONIC = "chronic_late_payer"
SHIPPED = yaml.safe_load(
    files("amiable_dunning").joinpath("data/policies/default.yaml").read_text()
)


def shipped() -> dict:
    return copy.deepcopy(SHIPPED)


def steps(data: dict, track: str) -> list[dict]:
    return data["tracks"][track]["steps"]


def step(data: dict, track: str, key: str) -> dict:
    return next(s for s in steps(data, track) if s["key"] == key)


def refused(data: dict) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Policy.from_yaml(yaml.safe_dump(data))
    return caught.value


def test_the_shipped_policy_loads_with_its_four_tracks_and_culture_map():
    policy = Policy.load()
    assert (policy.id, policy.version) == ("default", "2026.12-1")
    assert list(policy.tracks) == [
        "standard_b2b", "large_claim", "fragile_customer", "chronic_late_payer",
    ]  # fmt: skip
    standard = policy.tracks["standard_b2b"]
    assert [s.action for s in standard.steps] == [
        "call_task", "email", "letter", "email", "registered_letter", "formal_notice",
        "litigation_handoff",
    ]  # fmt: skip
    assert standard.steps[5].payment_deadline_days == 8
    assert standard.steps[4].contact_role == "management"
    assert standard.stages() == [
        "amicable", "amicable", "amicable", "amicable", "firm", "formal_notice",
        "after_formal_notice",
    ]  # fmt: skip
    assert {c: policy.culture_for(c).tone for c in ("DE", "NO", "JP", "OM", "FR", "BR")} == {
        "DE": "direct", "NO": "direct", "JP": "courteous", "OM": "courteous", "FR": "neutral",
        "BR": "neutral",
    }  # fmt: skip
    assert policy.culture_for("US").solution_first
    assert not policy.culture_for("FR").solution_first
    assert policy.consolidation_window_business_days == 2
    assert policy.large_claim_threshold.amount == Decimal("10000.00")
    chronic = policy.tracks["chronic_late_payer"]
    assert len(chronic.steps) < len(standard.steps)
    assert all(s.firm for s in chronic.steps)


def test_a_tenant_overrides_the_tone_of_a_country_and_its_default():
    data = shipped()
    data["tenant_culture_overrides"] = {"acme": {"DE": "courteous", "default": "direct"}}
    policy = Policy.from_yaml(yaml.safe_dump(data))
    assert policy.culture_for("DE", "acme").tone == "courteous"
    assert policy.culture_for("JP", "acme").tone == "courteous"  # the policy's own entry
    assert policy.culture_for("BR", "acme").tone == "direct"
    assert policy.culture_for("DE", "globex").tone == "direct"


def test_an_error_names_the_path_and_the_reason():
    data = shipped()
    step(data, "standard_b2b", "letter_reminder")["channels"] = ["phone"]
    error = refused(data).errors()[0]
    assert error["loc"] == ("tracks", "standard_b2b", "steps", 2)
    assert "step letter_reminder: a letter cannot go by phone" in error["msg"]
    assert "letter, registered_letter" in error["msg"]


@pytest.mark.parametrize(
    ("track", "key", "change", "reason"),
    [
        ("standard_b2b", "call_overdue", {"channels": ["email"]}, "a call_task cannot go by email"),
        ("standard_b2b", "call_overdue", {"channels": []}, "at least 1 item"),
        ("standard_b2b", "email_reminder", {"channels": ["email", "email"]}, "appears twice"),
        ("standard_b2b", "litigation_handoff", {"needs_approval": False}, "a person's approval"),
        ("standard_b2b", "email_reminder", {"payment_deadline_days": 8}, "only a formal_notice"),
        ("standard_b2b", "email_reminder", {"tone": "rude"}, "courteous"),
        ("standard_b2b", "email_reminder", {"action": "fax"}, "call_task"),
        ("standard_b2b", "email_reminder", {"offset_days": 7}, "Extra inputs"),
        ("standard_b2b", "email_reminder", {"anchor": "sent_on"}, "issued_on"),
        ("standard_b2b", "email_reminder", {"key": "call_overdue"}, "call_overdue repeated"),
        ("standard_b2b", "email_reminder", {"offset_business_days": 1}, "listed by their planned"),
        ("standard_b2b", "email_reminder", {"anchor": "issued_on"}, "must come before"),
        ("chronic_late_payer", "email_overdue", {"conditions": {"segments": ["x"]}}, "reliable"),
    ],
)
def test_a_bad_step_is_refused(track, key, change, reason):
    data = shipped()
    step(data, track, key).update(change)
    assert reason in str(refused(data))


def test_a_bailiff_summons_needs_approval_and_a_formal_notice_gets_an_eight_day_deadline():
    data = shipped()
    del step(data, "standard_b2b", "formal_notice")["payment_deadline_days"]
    summons = {
        "key": "summons", "anchor": "due_on", "offset_business_days": 45,
        "action": "bailiff_summons", "channels": ["bailiff"], "template": "summons",
    }  # fmt: skip
    steps(data, "standard_b2b").insert(6, summons)
    assert "a bailiff_summons needs a person's approval" in str(refused(data))
    summons["needs_approval"] = True
    policy = Policy.from_yaml(yaml.safe_dump(data))
    assert policy.tracks["standard_b2b"].steps[5].payment_deadline_days == 8


def test_a_formal_notice_without_an_unconditional_reminder_before_it_is_refused():
    data = shipped()
    chronic = steps(data, "chronic_late_payer")
    data["tracks"]["chronic_late_payer"]["steps"] = [s for s in chronic if s["action"] not in (
        "email", "call_task", "registered_letter"
    )]  # fmt: skip
    assert "a formal_notice needs a reminder with no condition before it" in str(refused(data))
    data = shipped()
    for s in steps(data, "chronic_late_payer")[:3]:
        s["conditions"] = {"countries": ["FR"]}
    assert "a formal_notice needs a reminder with no condition" in str(refused(data))


def test_a_fragile_track_proposes_before_pressing_and_never_hands_over():
    data = shipped()
    steps(data, "fragile_customer").append(
        {"key": "handoff", "anchor": "due_on", "offset_business_days": 90,
         "action": "litigation_handoff", "channels": ["lawyer"], "template": "handoff",
         "needs_approval": True}
    )  # fmt: skip
    assert "step handoff: a fragile customer is never handed to litigation" in str(refused(data))

    data = shipped()
    step(data, "fragile_customer", "courteous_reminder")["tone"] = "firm"
    assert "step courteous_reminder: a fragile track proposes a payment plan" in str(refused(data))

    data = shipped()
    data["tracks"]["fragile_customer"]["steps"] = steps(data, "fragile_customer")[:1]
    assert "a fragile track proposes a payment plan or a partial remission" in str(refused(data))

    # the rule follows the routing: a track that takes loyal customers in difficulty is fragile
    data = shipped()
    data["tracks"]["fragile_customer"]["applies_to"] = {"hardship": True}
    data["tracks"]["standard_b2b"]["applies_to"] = {"segments": ["loyal_temporary_difficulty"]}
    assert "a fragile customer is never handed to litigation" in str(refused(data))


def test_too_many_reminders_in_a_stage_are_refused_but_a_doubled_letter_counts_once():
    data = shipped()
    extra = {"key": "sms_nudge", "anchor": "due_on", "offset_business_days": 10,
             "action": "sms", "channels": ["sms"], "template": "sms.reminder"}  # fmt: skip
    steps(data, "standard_b2b").insert(2, extra)
    assert "4 reminders in the amicable stage, more than max_reminders_per_stage (3)" in str(
        refused(data)
    )
    data["max_reminders_per_stage"] = 4
    assert Policy.from_yaml(yaml.safe_dump(data)).max_reminders_per_stage == 4


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["tracks"].pop("large_claim"), "no track large_claim"),
        (lambda d: d["tracks"].update(vip=d["tracks"]["standard_b2b"]), "vip"),
        (lambda d: d["culture"].pop("default"), "a default tone"),
        (lambda d: d["culture"].update(DE="firm"), "courteous"),
        (lambda d: d["culture"].update(Germany="direct"), "Germany"),
        (lambda d: d["tracks"]["standard_b2b"].update(applies_to={"segments": ["insolvency"]}),
         "segment insolvency is never chased"),
        (lambda d: d["tracks"]["large_claim"].update(applies_to={"segments": [CHRONIC]}),
         "chronic_late_payer is routed to more than one track"),
        (lambda d: d["tracks"]["fragile_customer"]["applies_to"].update(hardship=False),
         "exactly one track must apply to a declared hardship"),
        (lambda d: d["tracks"]["standard_b2b"].update(id="large_claim"), "its id says large_claim"),
        (lambda d: d.update(contact_hours={"default": {"opens": "18:00", "closes": "09:00"}}),
         "contact hours open"),
        (lambda d: d.update(large_claim_threshold={"amount": "10000.001", "currency": "EUR"}),
         "EUR has at most 2 decimal digits"),
        (lambda d: d.update(max_reminders_per_stage=0), "greater than or equal to 1"),
    ],
)  # fmt: skip
def test_a_bad_policy_is_refused(change, reason):
    data = shipped()
    change(data)
    assert reason in str(refused(data))


def test_a_country_gets_its_own_contact_hours():
    data = shipped()
    data["contact_hours"]["countries"] = {"ES": {"opens": "10:00", "closes": "19:00"}}
    policy = Policy.from_yaml(yaml.safe_dump(data))
    assert policy.contact_hours_for("ES").opens.hour == 10
    assert policy.contact_hours_for("FR").opens.hour == 9


def test_the_track_quoted_in_the_docs_is_the_shipped_one():
    doc = (Path(__file__).parents[4] / "docs" / "dunning.md").read_text()
    quoted = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(quoted) == {"standard_b2b": SHIPPED["tracks"]["standard_b2b"]}
