"""A tenant's dunning policies: publish and activate versions through their own command bus
(tenant events, keyed ``<tenant>:``), list them, and the what-if simulation. No HTTP here."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from amiable_dunning.adapters.read_model import DunningReadModel
from amiable_dunning.app.reactions import parsed
from amiable_dunning.domain.policy import Policy
from amiable_dunning.domain.policy_commands import ActivatePolicy, PublishPolicy, Shelf
from amiable_dunning.domain.simulate import ClaimRun, from_states, simulate
from amiable_dunning.domain.state import Account, ClaimDunning
from amiable_events.clock import Clock
from amiable_events.commands import CommandBus, Idempotency, Loaded
from amiable_events.envelope import Envelope
from amiable_events.errors import Invalid, NotFound
from amiable_events.ledger import Figures

#: The most claims one simulation replays from the projection
MAX_CLAIMS = 20_000

_SELECTED = """SELECT a.state FROM {schema}.dunning_accounts a WHERE a.tenant = $1
    AND a.debtor_id IN (SELECT DISTINCT c.debtor_id FROM {schema}.dunning_claims c
        WHERE c.tenant = $1 AND ($2::uuid[] IS NULL OR c.claim_id = ANY($2::uuid[]))
        AND ($3::text IS NULL OR c.debtor_id = $3) AND ($4::text IS NULL OR c.status = $4))"""
_COUNT = """SELECT count(*) AS count FROM {schema}.dunning_claims c WHERE c.tenant = $1
    AND ($2::uuid[] IS NULL OR c.claim_id = ANY($2::uuid[]))
    AND ($3::text IS NULL OR c.debtor_id = $3) AND ($4::text IS NULL OR c.status = $4)"""


@dataclass(frozen=True)
class ClaimFilter:
    """Which claims of the projection to replay; every field left out matches all."""

    claim_ids: frozenset[uuid.UUID] | None = None
    debtor_id: str | None = None
    status: str | None = None

    def matches(self, account: Account, claim: ClaimDunning) -> bool:
        return (
            (self.claim_ids is None or uuid.UUID(claim.claim_id) in self.claim_ids)
            and (self.debtor_id is None or account.debtor_id == self.debtor_id)
            and (self.status is None or claim.status == self.status)
        )


@dataclass(frozen=True)
class Simulated:
    candidate: Policy
    active: Policy
    candidate_runs: list[ClaimRun]
    active_runs: list[ClaimRun]


class PolicyShelves:
    """The command bus's read model: the tenant's shelf, in the tenant's account ``<t>:``."""

    def __init__(self, read_model: DunningReadModel, clock: Clock) -> None:
        self._read_model = read_model
        self._clock = clock

    async def load(self, tenant: str, subject) -> Loaded[Shelf]:
        rows = await self._read_model.policies(tenant)
        active = await self._read_model.active(tenant, self._clock.now())
        shelf = Shelf(
            published={(row["policy_id"], row["version"]): parsed(row["document"]) for row in rows},
            active=None if active is None else (active["policy_id"], active["version"]),
        )
        return Loaded(shelf, debtor_id="")

    async def applied(self, event_id: uuid.UUID) -> bool:
        return await self._read_model.applied(event_id)


class PolicyHandler:
    def __init__(
        self,
        *,
        bus: CommandBus[Shelf],
        read_model: DunningReadModel,
        store,
        clock: Clock,
        default: Policy,
        figures: Figures,
    ) -> None:
        self.bus = bus
        self.read_model = read_model
        self.store = store
        self.clock = clock
        self.default = default
        self.figures = figures

    def _subject(self, tenant: str) -> str:
        return f"tenant:{tenant}"

    async def listing(self, tenant: str) -> tuple[list[dict], dict | None]:
        """The tenant's published versions, oldest first, and its activation in force now
        (None: the shipped default)."""
        rows = await self.read_model.policies(tenant)
        return rows, await self.read_model.active(tenant, self.clock.now())

    async def publish(
        self,
        tenant: str,
        policy: Policy,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> bool:
        """True when the same version and document were published already."""
        executed = await self.bus.execute(
            tenant,
            self._subject(tenant),
            PublishPolicy(policy),
            correlation_id=correlation_id,
            idempotency=idempotency,
        )
        return executed.replayed

    async def activate(
        self,
        tenant: str,
        policy_id: str,
        version: str,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> bool:
        """True when that version is the active one already."""
        executed = await self.bus.execute(
            tenant,
            self._subject(tenant),
            ActivatePolicy(policy_id, version),
            correlation_id=correlation_id,
            idempotency=idempotency,
        )
        return executed.replayed

    async def version(self, tenant: str, policy_id: str, version: str) -> Policy:
        """A version the tenant published, or the shipped default by its id and version."""
        if (policy_id, version) == (self.default.id, self.default.version):
            return self.default
        for row in await self.read_model.policies(tenant):
            if (row["policy_id"], row["version"]) == (policy_id, version):
                return parsed(row["document"])
        raise NotFound(
            f"no policy {policy_id} version {version} for this tenant",
            title="Policy version not found",
        )

    async def active_policy(self, tenant: str) -> Policy:
        active = await self.read_model.active(tenant, self.clock.now())
        if active is None:
            return self.default
        return await self.version(tenant, active["policy_id"], active["version"])

    async def simulate(
        self,
        tenant: str,
        candidate: Policy,
        *,
        history: list[Envelope] | None = None,
        claims: ClaimFilter | None = None,
        until: datetime | None = None,
    ) -> Simulated:
        """The history (the tenant's events of an uploaded one, or the claims the filter picks
        from the projection) replayed against the candidate and against the active policy."""
        active = await self.active_policy(tenant)
        starts: dict[str, Account] = {}
        if history is not None:
            history = [envelope for envelope in history if envelope.tenant == tenant]
        else:
            starts, history = await self._from_projection(tenant, claims or ClaimFilter())
        # CPU-bound: off the event loop, so the service keeps answering its other requests.
        candidate_runs, active_runs = await asyncio.to_thread(
            lambda: [
                simulate(history, policy, self.figures, until=until, accounts=starts)
                for policy in (candidate, active)
            ]
        )
        return Simulated(candidate, active, candidate_runs, active_runs)

    async def _from_projection(self, tenant: str, claims: ClaimFilter):
        args = (tenant, list(claims.claim_ids) if claims.claim_ids else None)
        args += (claims.debtor_id, claims.status)
        count = (await self.store.fetchrow(_COUNT, *args))[0]
        if count > MAX_CLAIMS:
            raise Invalid.field(
                "claims",
                f"{count} claims match; a simulation replays at most {MAX_CLAIMS}: narrow the "
                "filter",
            )
        rows = await self.store.fetch(_SELECTED, *args)
        accounts = [Account.model_validate_json(row["state"]) for row in rows]
        selected = {
            claim.claim_id
            for account in accounts
            for claim in account.claims.values()
            if claims.matches(account, claim)
        }
        return from_states(accounts, selected)
