"""The risk service's events about a debtor account, in the claims projection: each goes on the
timeline of every claim of the debtor open when it is applied (the assessment made as a claim
was qualified goes on that claim's only), and ``debtor_risk`` keeps the
debtor's latest grade and segment and its earliest collective proceeding, which the reactions
load with the debtor's open claims, and the claims whose disputes are resolved or on which a
call records a promise
(:func:`load_debtor_accounts`).

"Open when it is applied" is decided by log position, never by where a batch starts or ends: a
claim is open at an account event if its last event before it (in this batch) left it open, or,
with none, if it was open before the batch. So a rebuild writes the rows the live service wrote.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_claims.adapters.tables import claim_events, claims, debtor_risk
from amiable_claims.domain import calls
from amiable_claims.domain.proceedings import DebtorAccount, OpenClaim, Proceeding
from amiable_claims.domain.state import CLOSED, Claim
from amiable_events.db import Bulk
from amiable_events.disputes import DisputeResolved
from amiable_events.envelope import Envelope
from amiable_events.risk import EVENTS as RISK_EVENTS
from amiable_events.risk import DebtorAccountEvent, InsolvencyRecorded, RiskAssessed

#: The debtor-account events that belong on the claims' timelines. Not
#: ``DebtorPersonalDataErased``: it says the debtor's personal data is gone, not what happened.
ON_TIMELINES = frozenset(t for t in RISK_EVENTS if issubclass(t, DebtorAccountEvent))

Account = tuple[str, str]


class OpenClaims:
    """Which claims of the accounts of a batch's account events are open, at any offset of it:
    those open before the batch, then what each claim event of the batch left them."""

    def __init__(self, open_before: dict[Account, set[UUID]]) -> None:
        self.claims: dict[Account, set[UUID]] = defaultdict(set)
        self.open_before: set[UUID] = set()
        for account, claim_ids in open_before.items():
            self.claims[account] |= claim_ids
            self.open_before |= claim_ids
        self.after: dict[UUID, list[tuple[int, bool]]] = defaultdict(list)

    def record(self, claim_id: UUID, account: Account, offset: int, is_open: bool) -> None:
        """The claim's state after its event at ``offset`` (events come in offset order)."""
        self.claims[account].add(claim_id)
        self.after[claim_id].append((offset, is_open))

    def at(self, account: Account, offset: int) -> list[UUID]:
        found = []
        for claim_id in self.claims.get(account, ()):
            history = self.after.get(claim_id, [])
            earlier = bisect_left(history, (offset,))  # its events before ``offset``
            is_open = history[earlier - 1][1] if earlier else claim_id in self.open_before
            if is_open:
                found.append(claim_id)
        return sorted(found)

    @classmethod
    async def before_batch(cls, bulk: Bulk, accounts: set[Account]) -> OpenClaims:
        rows = await bulk.connection.fetch(
            f"SELECT c.claim_id, c.tenant, c.debtor_id FROM {bulk.name(claims)} c "
            "JOIN unnest($1::text[], $2::text[]) AS a(tenant, debtor_id) "
            "ON c.tenant = a.tenant AND c.debtor_id = a.debtor_id "
            "WHERE c.status <> ALL($3::text[])",
            *zip(*sorted(accounts), strict=True),
            sorted(CLOSED),
        )
        open_before: dict[Account, set[UUID]] = defaultdict(set)
        for row in rows:
            open_before[row["tenant"], row["debtor_id"]].add(row["claim_id"])
        return cls(open_before)


def account_events(envelopes: Sequence[Envelope]) -> list[Envelope]:
    return [envelope for envelope in envelopes if type(envelope.data) in ON_TIMELINES]


def _timelines_of(envelope: Envelope, open_claims: OpenClaims) -> list[UUID]:
    event = envelope.data
    if type(event) is RiskAssessed and event.claim_id is not None:
        # The assessment made as one claim was qualified belongs to that claim's story: on every
        # open claim of the debtor, a debtor's timelines would grow with the square of its claims.
        return [event.claim_id]
    return open_claims.at((envelope.tenant, envelope.debtor_id), envelope.offset)


async def apply_account_events(
    bulk: Bulk,
    events: list[Envelope],
    open_claims: OpenClaims,
    timeline_row: Callable[[UUID, Envelope], tuple],
    timeline_columns: Sequence[str],
) -> None:
    """The timeline rows of ``events`` and their ``debtor_risk`` rows."""
    rows = [
        timeline_row(claim_id, envelope)
        for envelope in events
        for claim_id in _timelines_of(envelope, open_claims)
    ]
    await bulk.insert(claim_events, timeline_columns, rows, "ON CONFLICT DO NOTHING", new=True)
    assessed: dict[Account, RiskAssessed] = {}
    proceedings: dict[Account, InsolvencyRecorded] = {}
    for envelope in events:
        event, account = envelope.data, (envelope.tenant, envelope.debtor_id)
        if type(event) is RiskAssessed:
            assessed[account] = event  # the last applied is the one in force
        elif type(event) is InsolvencyRecorded:
            first = proceedings.get(account)
            if first is None or event.opened_on < first.opened_on:
                proceedings[account] = event
    await bulk.insert(
        debtor_risk,
        ("tenant", "debtor_id", "grade", "segment"),
        [(*account, e.grade, e.segment) for account, e in sorted(assessed.items())],
        "ON CONFLICT (tenant, debtor_id) DO UPDATE SET grade = excluded.grade, "
        "segment = excluded.segment",
    )
    # The proceeding that first barred payment stays: a later opening does not replace it.
    await bulk.insert(
        debtor_risk,
        (
            "tenant",
            "debtor_id",
            "proceeding_kind",
            "proceeding_opened_on",
            "proceeding_reference",
        ),
        [
            (*account, e.kind, e.opened_on, e.reference)
            for account, e in sorted(proceedings.items())
        ],
        "ON CONFLICT (tenant, debtor_id) DO UPDATE SET "
        "proceeding_kind = excluded.proceeding_kind, "
        "proceeding_opened_on = excluded.proceeding_opened_on, "
        "proceeding_reference = excluded.proceeding_reference "
        "WHERE target.proceeding_opened_on IS NULL "
        "OR excluded.proceeding_opened_on < target.proceeding_opened_on",
    )


def _reads_its_claim(envelope: Envelope) -> bool:
    return type(envelope.data) is DisputeResolved or calls.promised(envelope)


async def load_debtor_accounts(
    conn: AsyncConnection, triggers: Mapping[str, list[Envelope]]
) -> dict[str, DebtorAccount]:
    """The reactions' states (``domain.proceedings``) of the triggers' accounts
    (``<tenant>:<debtor>``), as the projection holds them before a batch: the proceeding, the
    open claims of the accounts whose triggers record one (only an ``InsolvencyRecorded``
    reads them: a debtor may have thousands, and a registration needs only the proceeding),
    and the claims a ``DisputeResolved`` or a call's promise names. Every account gets a state
    that follows only the latter: a state left out would follow every claim of its batch."""
    bulk = await Bulk.of(conn)
    tenants, debtors = zip(*(key.split(":", 1) for key in triggers), strict=True)
    opening = [
        key
        for key, envelopes in triggers.items()
        if any(type(e.data) is InsolvencyRecorded for e in envelopes)
    ]
    resolved = {
        key: frozenset(e.data.claim_id for e in envelopes if _reads_its_claim(e))
        for key, envelopes in triggers.items()
    }
    proceedings = await bulk.connection.fetch(
        "SELECT r.tenant, r.debtor_id, r.proceeding_kind, r.proceeding_opened_on, "
        f"r.proceeding_reference FROM {bulk.name(debtor_risk)} r "
        "JOIN unnest($1::text[], $2::text[]) AS a(tenant, debtor_id) "
        "ON r.tenant = a.tenant AND r.debtor_id = a.debtor_id "
        "WHERE r.proceeding_opened_on IS NOT NULL",
        tenants,
        debtors,
    )
    open_claims = []
    if opening:
        open_claims = await bulk.connection.fetch(
            "SELECT c.tenant, c.debtor_id, c.claim_id, c.due_on, "
            f"c.fixed_fee_waived_from IS NOT NULL AS fee_waived FROM {bulk.name(claims)} c "
            "JOIN unnest($1::text[], $2::text[]) AS a(tenant, debtor_id) "
            "ON c.tenant = a.tenant AND c.debtor_id = a.debtor_id "
            "WHERE c.status <> ALL($3::text[]) ORDER BY c.registered_at, c.claim_id",
            *zip(*(key.split(":", 1) for key in opening), strict=True),
            sorted(CLOSED),
        )
    disputed = [(*key.split(":", 1), claim_id) for key, ids in resolved.items() for claim_id in ids]
    disputed_claims = []
    if disputed:
        disputed_claims = await bulk.connection.fetch(
            f"SELECT c.tenant, c.debtor_id, c.state::text AS state FROM {bulk.name(claims)} c "
            "JOIN unnest($1::text[], $2::text[], $3::uuid[]) AS a(tenant, debtor_id, claim_id) "
            "ON c.claim_id = a.claim_id AND c.tenant = a.tenant AND c.debtor_id = a.debtor_id",
            *zip(*disputed, strict=True),
        )
    by_key: dict[str, list[OpenClaim]] = defaultdict(list)
    for row in open_claims:
        by_key[f"{row['tenant']}:{row['debtor_id']}"].append(
            OpenClaim(row["claim_id"], row["due_on"], row["fee_waived"])
        )
    followed: dict[str, list[Claim]] = defaultdict(list)
    for row in disputed_claims:
        followed[f"{row['tenant']}:{row['debtor_id']}"].append(
            Claim.model_validate_json(row["state"])
        )
    found = {
        key: DebtorAccount(
            open_claims=tuple(by_key.get(key, ())),
            claims=tuple(followed.get(key, ())),
            following=resolved[key],
        )
        for key in triggers
    }
    for row in proceedings:
        key = f"{row['tenant']}:{row['debtor_id']}"
        proceeding = Proceeding(
            row["proceeding_kind"], row["proceeding_opened_on"], row["proceeding_reference"]
        )
        found[key] = replace(found[key], proceeding=proceeding)
    return found
