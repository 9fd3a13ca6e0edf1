"""Risk commands and reactions through the kit: given events, when a command, then events.

Every test runs twice: on the in-memory log, runner and read model, and on the real Kafka and
PostgreSQL (marked ``integration``). Both must give the same answers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest

from amiable_events.clock import FrozenClock
from amiable_events.commands import Idempotency
from amiable_events.errors import Conflict
from amiable_events.risk import InsolvencyRecorded, RiskAlertRaised, RiskAssessed
from amiable_risk.adapters.projector import RiskProjector
from amiable_risk.adapters.read_model import RiskReadModel
from amiable_risk.app.reactions import reactions
from amiable_risk.domain.commands import OverrideSegment, RecordInsolvency, SetCreditLimit
from amiable_risk.domain.decide import DECIDERS
from amiable_risk.domain.evolve import evolve, follows
from amiable_risk.domain.scorecard import Scorecard
from tests.behaviour import ServiceUnderTest, backends
from tests.risk_givens import TODAY, History
from tests.support import eventually

SCORECARD = Scorecard.load()
NOW = datetime.combine(TODAY, datetime.min.time(), UTC).replace(hour=12)

RISK = ServiceUnderTest(
    name="risk",
    deciders=DECIDERS,
    clock=FrozenClock(NOW),
    evolve=partial(evolve, scorecard=SCORECARD),
    follows=follows,
    projector=RiskProjector(SCORECARD),
    read_model=RiskReadModel,
    reactions=reactions(SCORECARD),
    by_account=True,
)

real_backend, backend = backends(RISK)


@pytest.fixture
def tenant() -> str:
    return f"behaviour-{uuid.uuid4().hex[:8]}"


def caused_by(log, trigger) -> list:
    return [e for e in log if e.causation_id == trigger.id]


async def test_a_credit_limit_below_the_balance_raises_the_alert_as_a_reaction(backend, tenant):
    history = History(tenant, "D-1")
    history.claim(TODAY - timedelta(days=40), amount="800.00", registered_on=TODAY)
    history.claim(TODAY - timedelta(days=10), amount="800.00", registered_on=TODAY)
    await backend.given(*history.envelopes)
    [limit_set] = await backend.when(
        tenant, "D-1", SetCreditLimit("D-1", Decimal("1000.00"), "EUR")
    )
    assert limit_set.subject == "debtor:D-1" and limit_set.key == f"{tenant}:D-1"
    caused = await eventually(lambda: _caused(backend, limit_set))
    alerts = [e.data for e in caused if isinstance(e.data, RiskAlertRaised)]
    assert [a.signal for a in alerts] == ["exposure_above_limit"]
    assert alerts[0].evidence["open_balance"] == "1600.00"
    qualified = [
        e.data
        for e in await backend.log()
        if isinstance(e.data, RiskAssessed) and e.data.trigger == "claim_qualified"
    ]
    assert len(qualified) == 2


async def test_insolvency_on_a_debtor_risk_never_saw_publishes_the_insolvency_segment(
    backend, tenant
):
    command = RecordInsolvency("D-new", "liquidation", TODAY, "TC Nanterre 2026L77")
    [recorded] = await backend.when(tenant, "D-new", command)
    assert isinstance(recorded.data, InsolvencyRecorded)
    caused = await eventually(lambda: _caused(backend, recorded))
    [assessed] = [e.data for e in caused if isinstance(e.data, RiskAssessed)]
    assert assessed.segment == "insolvency" and assessed.trigger == "account_changed"
    # the same proceeding again is a replay; an override now is a conflict
    assert (await backend.when(tenant, "D-new", command)).replayed
    with pytest.raises(Conflict):
        await backend.when(tenant, "D-new", OverrideSegment("D-new", "reliable", "pii:v1:x"))


async def test_a_retry_with_the_same_idempotency_key_appends_nothing(backend, tenant):
    key = Idempotency("limit-1", "fingerprint-1")
    command = SetCreditLimit("D-2", Decimal("500"), "EUR")
    first = await backend.when(tenant, "D-2", command, idempotency=key)
    assert len(first) == 1
    again = await backend.when(
        tenant, "D-2", SetCreditLimit("D-2", Decimal("600"), "EUR"), idempotency=key
    )
    assert again.replayed and list(again) == []


async def _caused(backend, trigger):
    return caused_by(await backend.log(), trigger)
