"""One trigger may cause more events for one account than a record batch holds (a debtor's
segment change re-plans every one of its claims): the projection appends them over several
batches, in order, where a command's events still land all or none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from amiable_events.catalog import REGISTRY
from amiable_events.claims import ClaimQualified
from amiable_events.envelope import Envelope, decode
from amiable_events.producer import EventLog
from tests.support import read_topic

pytestmark = pytest.mark.integration


def _qualified(n: int) -> Envelope:
    now = datetime(2026, 11, 24, 10, tzinfo=UTC)
    claim_id = uuid.uuid4()
    return Envelope(
        id=uuid.uuid4(),
        subject=str(claim_id),
        time=now,
        tenant="big",
        debtor_id="D-1",
        correlation_id=claim_id,
        data=ClaimQualified(claim_id=claim_id, qualified_at=now, prescription_date=now.date()),
    )


async def test_more_than_a_batch_of_one_account_goes_out_in_order_unless_atomic(infra, fresh_topic):
    topic = await fresh_topic("big-reactions")
    log = EventLog(infra.bootstrap, topic=topic, client_id="big")
    await log.start()
    try:
        # ~1,200 records of ~300 bytes: more than one 256 KiB batch
        many = [_qualified(n) for n in range(1200)]
        with pytest.raises(ValueError, match="exceed one record batch"):
            await log.append(many)
        appended = await log.append(many, atomic=False)
    finally:
        await log.stop()
    assert [a.offset for a in appended] == list(
        range(appended[0].offset, appended[0].offset + 1200)
    )
    records = await read_topic(infra.bootstrap, topic)
    ids = [decode(REGISTRY, r.key, r.value, r.headers).id for r in records]
    assert ids == [e.id for e in many]
