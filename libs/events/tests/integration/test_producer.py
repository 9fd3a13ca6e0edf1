"""The event log's append against the real broker: one account's events go out as one record
batch (all or none, back to back), and offsets come back in the order given."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from amiable_events.producer import EventLog
from amiable_events.topics import delete_topics, partition_for
from tests.factories import registered
from tests.support import create_topic

pytestmark = pytest.mark.integration


async def test_one_accounts_events_are_one_batch_and_offsets_follow_the_input(infra, unique):
    topic = await create_topic(infra.bootstrap, f"append-{unique}")
    log = EventLog(infra.bootstrap, topic=topic, client_id="append-test")
    await log.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap)
    try:
        # Two accounts interleaved: a, b, a, b, a.
        envelopes = [
            registered(n, tenant=unique, debtor="a" if n % 2 == 0 else "b") for n in range(5)
        ]
        appended = await log.append(envelopes)
        assert [a.event_id for a in appended] == [str(e.id) for e in envelopes]
        by_account: dict[str, list] = {}
        for envelope, where in zip(envelopes, appended, strict=True):
            assert where.partition == partition_for(envelope.key.encode())
            by_account.setdefault(envelope.debtor_id, []).append(where.offset)
        for offsets in by_account.values():
            assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))

        # Account a's three records sit back to back from the batch's base offset.
        await consumer.start()
        tp = TopicPartition(topic, appended[0].partition)
        consumer.assign([tp])
        consumer.seek(tp, appended[0].offset)
        records = (await consumer.getmany(tp, timeout_ms=5000))[tp]
        ids = [dict(r.headers)["ce_id"].decode() for r in records]
        assert ids[:3] == [str(envelopes[n].id) for n in (0, 2, 4)]
    finally:
        await consumer.stop()
        await log.stop()
        await delete_topics(infra.bootstrap, [topic])
