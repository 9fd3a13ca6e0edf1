"""Contacts per debtor as Prometheus reads them: the reader's SQL over the real read model,
counting the messages released in the 7 days before the service's today, per tenant, never
naming a debtor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from amiable_communications.adapters.projector import CommunicationsProjector
from amiable_communications.adapters.tables import communications
from amiable_communications.app.metrics import CONTACTS_PER_DEBTOR, contacts_reader
from amiable_communications.domain.governor import RuleBook
from amiable_events.catalog import REGISTRY
from amiable_events.clock import FrozenClock
from amiable_events.db import create_engine
from amiable_events.projection import ProjectionStore

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 9, 12, tzinfo=UTC)


def message(tenant: str, debtor: str, released_at: datetime | None) -> dict:
    claim = uuid.uuid4()
    return {
        "communication_id": uuid.uuid4(),
        "tenant": tenant,
        "debtor_id": debtor,
        "claim_id": claim,
        "claims": [str(claim)],
        "purpose": "dunning_step",
        "template": "reminder.first",
        "channel": "email",
        "tone": "courteous",
        "language": "fr-FR",
        "kind": "reminder",
        "status": "released" if released_at else "queued",
        "review_required": False,
        "cause_id": uuid.uuid4(),
        "not_before": NOW - timedelta(days=30),
        "at": NOW - timedelta(days=30),
        "deferrals": 0,
        "queued_at": NOW - timedelta(days=30),
        "released_at": released_at,
        "registered": False,
    }


@pytest.fixture
async def store(infra, unique):
    engine = create_engine(infra.database_url, "amiable_communications")
    store = ProjectionStore(
        CommunicationsProjector(RuleBook.shipped()), engine, REGISTRY, schema=f"contacts_{unique}"
    )
    await store.create()
    try:
        yield store
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE'))
        await engine.dispose()


async def test_debtors_are_bucketed_by_their_contacts_of_the_last_seven_days(store, unique):
    acme, other = f"acme-{unique}", f"other-{unique}"
    day = timedelta(days=1)
    rows = [
        # D-1: three contacts this week, one older (not counted)
        *(message(acme, "D-1", NOW - n * day) for n in (1, 2, 3)),
        message(acme, "D-1", NOW - 8 * day),
        # D-2: one contact; D-3: only queued, never released (no contact)
        message(acme, "D-2", NOW - 6 * day),
        message(acme, "D-3", None),
        # another tenant's debtor, six contacts
        *(message(other, "D-1", NOW - n * day / 2) for n in range(1, 7)),
    ]
    async with store.transaction() as conn:
        await conn.execute(communications.insert(), rows)

    [family] = await contacts_reader(store, FrozenClock(NOW))()

    assert family.name == CONTACTS_PER_DEBTOR
    found = {(s.name, s.labels["tenant"], s.labels.get("le")): s.value for s in family.samples}
    bucket = f"{CONTACTS_PER_DEBTOR}_bucket"
    assert found[(bucket, acme, "1.0")] == 1  # D-2
    assert found[(bucket, acme, "2.0")] == 1
    assert found[(bucket, acme, "3.0")] == 2  # D-2 and D-1
    assert found[(bucket, acme, "+Inf")] == 2
    assert found[(f"{CONTACTS_PER_DEBTOR}_gsum", acme, None)] == 4
    assert found[(bucket, other, "5.0")] == 0
    assert found[(bucket, other, "7.0")] == 1
    assert all("D-" not in value for sample in family.samples for value in sample.labels.values())
