"""The compliance metrics: deferrals by rule, suppressions by reason, opt-outs by channel, each
counted from the event the runner applies live; contacts per debtor as cumulative buckets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from amiable_communications.app.metrics import CONTACT_BUCKETS, contact_buckets
from amiable_events.communications import (
    CommunicationDeferred,
    CommunicationSuppressed,
    ContactPreferencesSet,
)
from amiable_events.envelope import Envelope
from amiable_events.metrics import count_applied

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def envelope(event, offset: int) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=str(uuid.uuid4()),
        time=AT,
        tenant="acme",
        debtor_id="D-1",
        correlation_id=uuid.uuid4(),
        data=event,
    ).at(0, offset)


def counted(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def message() -> dict:
    return {"claim_id": uuid.uuid4(), "communication_id": uuid.uuid4()}


def test_governor_outcomes_and_opt_outs_are_counted_from_live_events():
    before = {
        "weekly": counted("amiable_communications_deferrals_total", rule="weekly_cap"),
        "opted": counted("amiable_communications_suppressions_total", reason="opted_out"),
        "all": counted("amiable_communications_opt_outs_total", channel="all"),
        "sms": counted("amiable_communications_opt_outs_total", channel="sms"),
    }
    events = [
        CommunicationDeferred(
            **message(), channel="email", rule="weekly_cap", until=AT, deferred_at=AT
        ),
        CommunicationDeferred(
            **message(), channel="email", rule="weekly_cap", until=AT, deferred_at=AT
        ),
        CommunicationSuppressed(**message(), reason="opted_out", suppressed_at=AT),
        ContactPreferencesSet(debtor_id="D-1", opted_out=True, set_by="agent", set_at=AT),
        ContactPreferencesSet(
            debtor_id="D-1", opted_out_channels=("sms",), set_by="agent", set_at=AT
        ),
        ContactPreferencesSet(debtor_id="D-1", preferred_channel="email", set_by="a", set_at=AT),
    ]
    live = [envelope(event, offset) for offset, event in enumerate(events)]

    count_applied("communications", live, {})
    # the same events replayed below the horizon (a new projection shape) count nothing more
    count_applied("communications", live, {0: len(live)})

    assert counted("amiable_communications_deferrals_total", rule="weekly_cap") == (
        before["weekly"] + 2
    )
    assert counted("amiable_communications_suppressions_total", reason="opted_out") == (
        before["opted"] + 1
    )
    assert counted("amiable_communications_opt_outs_total", channel="all") == before["all"] + 1
    assert counted("amiable_communications_opt_outs_total", channel="sms") == before["sms"] + 1


def test_contacts_per_debtor_are_cumulative_buckets():
    # 4 debtors contacted once, 2 three times, 1 twelve times
    buckets, total = contact_buckets({1: 4, 3: 2, 12: 1})

    assert dict(buckets) == {
        "1.0": 4,
        "2.0": 4,
        "3.0": 6,
        "4.0": 6,
        "5.0": 6,
        "7.0": 6,
        "10.0": 6,
        "+Inf": 7,
    }
    assert [float(bound) for bound, _ in buckets][:-1] == list(CONTACT_BUCKETS)
    assert total == 4 + 6 + 12
