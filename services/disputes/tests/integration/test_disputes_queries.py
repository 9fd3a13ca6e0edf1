"""Reading disputes on the real stack: sealed texts and their erasure, the list's filters and
cursor, and the figures (conftest.py: one disputes process for the module, its clock frozen at
noon UTC on ``TODAY``). Disputes opened days ago are appended to the log as the service writes
them (``History.disputed``: reason quality_or_service, at 10:00 UTC)."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from pydantic import TypeAdapter

from amiable_events.claims import DebtorPersonalDataErased
from amiable_events.db import create_engine
from amiable_events.envelope import account_key
from amiable_events.personal import ERASED
from amiable_events.service import KEYS_DATABASE
from tests.risk_givens import TODAY, at
from tests.support import eventually, read_topic, service_key_store

pytestmark = pytest.mark.integration

OPENED = "amiable.disputes.dispute-opened.v1"


async def test_free_text_is_sealed_on_the_log_readable_through_the_api_then_erased(desk):
    history = desk.history("D-SEALED")
    claim_id = history.claim(TODAY - timedelta(days=40))
    await desk.append(history)
    dispute = await desk.opened(claim_id, description="Mme Durand says the pallets broke")
    dispute_id = dispute["dispute_id"]
    assert dispute["description"] == "Mme Durand says the pallets broke"
    await desk.act(dispute_id, "assign", {"assignee": "agent-1"})
    await desk.act(dispute_id, "comments", {"comment": "called Mme Durand back"})
    note = "photos show the damage; credit note for Mme Durand"
    await desk.act(dispute_id, "resolve", {"outcome": "upheld", "resolution_note": note})

    read = await desk.dispute(dispute_id)
    assert (read["description"], read["resolution_note"]) == (dispute["description"], note)
    texts = {event["type"]: event["data"] for event in read["history"]}
    assert texts["amiable.disputes.dispute-commented.v1"]["comment"] == "called Mme Durand back"
    assert texts["amiable.disputes.dispute-resolved.v1"]["resolution_note"] == note
    # on the log, every one of them is sealed with the debtor account's key
    process = desk.process
    records = [
        r
        for r in await read_topic(process.infra.bootstrap, process.topic)
        if r.key == account_key(desk.tenant, "D-SEALED").encode()
    ]
    assert not any(b"Durand" in r.value for r in records)
    [opened] = [r for r in records if dict(r.headers)["ce_type"] == OPENED.encode()]
    assert orjson.loads(opened.value)["description"].startswith("pii:v1:")

    # erasure as the claims service does it: the key is shredded, then the event is appended
    engine = create_engine(process.infra.database_url, KEYS_DATABASE, pool_size=1)
    try:
        await service_key_store(engine).delete(account_key(desk.tenant, "D-SEALED"))
    finally:
        await engine.dispose()
    since = len(history.envelopes)
    history.add(DebtorPersonalDataErased(debtor_id="D-SEALED", erased_at=at(TODAY)), at(TODAY))
    await desk.append(history, since)

    erased = await desk.dispute(dispute_id, lambda body: body["description"] == ERASED)
    assert erased["resolution_note"] == ERASED
    texts = {event["type"]: event["data"] for event in erased["history"]}
    assert texts["amiable.disputes.dispute-commented.v1"]["comment"] == ERASED
    assert texts["amiable.disputes.dispute-resolved.v1"]["resolution_note"] == ERASED
    # what is not personal stays
    assert (erased["outcome"], erased["disputed_amount"]) == ("upheld", dispute["disputed_amount"])


async def ids(desk, **params) -> list[str]:
    answer = await desk.get("/v1/disputes", **params)
    assert answer.status_code == 200, answer.text
    return [item["dispute_id"] for item in answer.json()["items"]]


async def test_filters_and_a_cursor_without_duplicates_or_gaps(desk):
    one, two = desk.history("D-1"), desk.history("D-2")
    old, older = (one.claim(TODAY - timedelta(days=90)) for _ in range(2))
    recent, newer = (two.claim(TODAY - timedelta(days=60)) for _ in range(2))
    logged = {
        40: one.disputed(older, TODAY - timedelta(days=40)),
        20: one.disputed(old, TODAY - timedelta(days=20)),
        10: two.disputed(recent, TODAY - timedelta(days=10)),
        3: two.disputed(newer, TODAY - timedelta(days=3)),
    }
    fresh = [one.claim(TODAY - timedelta(days=5)) for _ in range(3)]
    await desk.append(one)
    await desk.append(two)
    today = [(await desk.opened(claim_id, reason="delivery"))["dispute_id"] for claim_id in fresh]
    await desk.act(today[0], "withdraw", {})

    async def escalated():  # the 40-day-old dispute missed its resolution deadline
        return await ids(desk, status="mediation")

    assert await eventually(escalated) == [str(logged[40])]

    everything = await ids(desk, limit=200)
    by_age = [str(logged[age]) for age in (3, 10, 20, 40)]
    assert len(everything) == 7 and everything[3:] == by_age  # latest opened first
    assert sorted(everything[:3]) == sorted(today)  # opened at the same instant
    pages, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await desk.get("/v1/disputes", **params)).json()
        pages.append([item["dispute_id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert [dispute_id for page in pages for dispute_id in page] == everything

    assert await ids(desk, status="withdrawn") == [today[0]]
    assert len(await ids(desk, status=["open", "withdrawn"])) == 6
    assert sorted(await ids(desk, reason="delivery")) == sorted(today)
    assert await ids(desk, reason="quality_or_service") == by_age
    assert await ids(desk, claim_id=str(recent)) == [str(logged[10])]
    assert await ids(desk, debtor_id="D-2") == by_age[:2]
    assert await ids(desk, min_age_days=15) == by_age[2:]
    assert sorted(await ids(desk, max_age_days=15)) == sorted([*today, *by_age[:2]])
    assert await ids(desk, min_age_days=5, max_age_days=30) == by_age[1:3]
    assert await ids(desk, status="resolved") == []

    async def breached():  # the logged disputes were due 2 days after opening (the givens)
        found = await ids(desk, breached="true")
        return found if found == by_age else None

    assert await eventually(breached) == by_age
    assert sorted(await ids(desk, breached="false")) == sorted(today)
    assert await ids(desk, limitation_at_risk="true") == []
    assert len(await ids(desk, limitation_at_risk="false")) == 7
    bad = await desk.get("/v1/disputes", status="closed")
    assert bad.status_code == 422


async def test_stats_on_a_known_set(desk):
    """Four open (two billing errors today; one 7 days and 2 hours old, 7 whole days; one 40
    days old), three resolved (upheld after 10 days 2 hours, rejected after mediation after 20
    days 2 hours, partially upheld at once), one withdrawn after mediation, one hardship."""
    history = desk.history()
    old, week, upheld, rejected, withdrawn = (
        history.claim(TODAY - timedelta(days=90)) for _ in range(5)
    )
    billing, second, partial, hardship = (
        history.claim(TODAY - timedelta(days=5)) for _ in range(4)
    )
    history.disputed(old, TODAY - timedelta(days=40))
    history.disputed(week, TODAY - timedelta(days=7))
    ten = history.disputed(upheld, TODAY - timedelta(days=10))
    twenty = history.disputed(rejected, TODAY - timedelta(days=20))
    four = history.disputed(withdrawn, TODAY - timedelta(days=4))
    await desk.append(history)
    await desk.opened(billing, reason="billing_error")
    await desk.opened(second, reason="billing_error")
    await desk.opened(hardship, reason="cash_flow_difficulty")
    at_once = (await desk.opened(partial))["dispute_id"]

    for dispute_id in (ten, twenty, four, at_once):
        await desk.dispute(dispute_id)  # the service has read the logged ones
        await desk.act(dispute_id, "assign", {"assignee": "agent-1"})
    for dispute_id in (twenty, four):
        await desk.act(dispute_id, "mediation", {"mediator": "mediator-1"})
    await desk.act(ten, "resolve", {"outcome": "upheld", "resolution_note": "right"})
    await desk.act(twenty, "resolve", {"outcome": "rejected", "resolution_note": "wrong"})
    await desk.act(
        at_once,
        "resolve",
        {"outcome": "partially_upheld", "accepted_amount": "300.00", "resolution_note": "some"},
    )
    await desk.act(four, "withdraw", {})

    answer = await desk.get("/v1/disputes/stats")
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    none = {"0-7": 0, "8-30": 0, "31-60": 0, "61+": 0}
    assert stats["open"] == {
        "billing_error": none | {"0-7": 2},
        "quality_or_service": none | {"0-7": 1, "31-60": 1},
    }
    assert stats["open_total"] == 4
    counts = {key: stats[key] for key in ("resolved", "withdrawn", "hardship", "mediated")}
    assert counts == {"resolved": 3, "withdrawn": 1, "hardship": 1, "mediated": 2}
    median = TypeAdapter(timedelta).validate_python(stats["median_resolution"])
    assert median == timedelta(days=10, hours=2)
    assert stats["share_upheld"] == stats["share_partially_upheld"] == 0.3333
    assert stats["mediation_success_rate"] == 0.5  # the withdrawal settled, the rejection not
