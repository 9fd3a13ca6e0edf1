"""The starter's projection on amiable's sample streams (``samples/``, written by
``amiable events sample``): no Kafka, no amiable code, just the files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from claims_consumer.decode import from_lines
from claims_consumer.projection import Projection

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def lines(name: str) -> list[str]:
    return (SAMPLES / f"{name}.ndjson").read_text().splitlines()


def project(raw: list[str]) -> Projection:
    projection = Projection()
    for event in from_lines(raw):
        projection.apply(event)
    return projection


@pytest.mark.parametrize("name", ["paid-on-time", "chased-then-paid", "debtor-erased"])
def test_a_paid_claim_is_no_longer_open(name):
    projection = project(lines(name))
    assert projection.open_claims() == {}
    assert len(projection.applied) == len(lines(name))


def test_a_claim_reduced_by_a_dispute_is_open_for_what_is_left():
    projection = project(lines("disputed-then-adjusted"))
    [(account, [claim])] = projection.open_claims().items()
    assert account == "acme-industrie:C-20688"
    assert (claim.invoice_number, claim.outstanding, claim.escalated) == (
        "FA-2026-0188",
        Decimal("3600.00"),
        False,
    )


def test_an_escalated_claim_stays_open_less_the_instalment_paid():
    raw = lines("plan-defaulted-then-escalated")
    projection = project(raw)
    [(account, [claim])] = projection.open_claims().items()
    assert account == "acme-industrie:C-20791"
    paid = [json.loads(line)["data"]["amount"] for line in raw if "payment-received" in line]
    assert len(paid) == 1
    assert claim.escalated
    assert claim.outstanding == Decimal("6000.00") - Decimal(paid[0])


def test_an_unknown_type_is_counted_and_passed_over():
    raw = lines("disputed-then-adjusted")
    before = project(raw)
    novel = json.loads(raw[-1])
    novel |= {"id": "c1f7e0a2-0000-4000-8000-000000000001", "type": "amiable.claims.novel.v1"}
    after = project([*raw, json.dumps(novel)])
    assert after.ignored["amiable.claims.novel.v1"] == 1
    assert after.summary().splitlines()[0] == before.summary().splitlines()[0]


def test_a_new_version_of_a_type_it_reads_is_flagged_not_applied(caplog):
    raw = lines("paid-on-time")
    settled = next(i for i, line in enumerate(raw) if "claim-settled.v1" in line)
    event = json.loads(raw[settled])
    event["type"] = "amiable.claims.claim-settled.v2"
    projection = project([*raw[:settled], json.dumps(event), *raw[settled + 1 :]])
    assert projection.behind["amiable.claims.claim-settled.v2"] == 1
    assert "amiable.claims.claim-settled.v2" not in projection.ignored
    assert len(projection.open_claims()["acme-industrie:C-20417"]) == 1
    assert "BEHIND: newer versions of types this code reads" in projection.summary()
    assert "amiable.claims.claim-settled.v2 is a newer version" in caplog.text


def test_new_optional_fields_and_attributes_are_accepted():
    raw = lines("paid-on-time")
    widened = []
    for line in raw:
        event = json.loads(line)
        event["data"]["a_field_added_later"] = {"nested": [1, 2]}
        event["newattribute"] = "from a later producer"
        widened.append(json.dumps(event))
    assert project(widened).open_claims() == project(raw).open_claims() == {}
    registered = project(widened[:1]).open_claims()
    assert [c.outstanding for c in registered["acme-industrie:C-20417"]] == [Decimal("2400.00")]


def test_a_redelivered_record_changes_nothing():
    raw = lines("disputed-then-adjusted")
    projection = project(raw)
    before = projection.summary()
    adjusted = next(line for line in raw if "claim-adjusted" in line)
    [event] = from_lines([adjusted])
    assert projection.apply(event) is False
    assert projection.summary() == before
    [(_, [claim])] = projection.open_claims().items()
    assert claim.credited == Decimal("1200.00")
