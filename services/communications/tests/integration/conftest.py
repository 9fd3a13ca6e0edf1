"""The communications service on the real stack: a process per test module, on a topic, a
schema and a consumer group of the module's own, its clock frozen at noon UTC on ``TODAY``, fed
the events claims and the communications pipeline would write (a registered claim, a message
queued, released, sent) through ``process.log``. Free text is sealed with the debtor account's
key in the shared keys database, as the services seal it. Each test keeps to tenants of its
own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import httpx
import orjson
import pytest

from amiable_events.claims import Contact, DebtorPersonalDataErased
from amiable_events.communications import (
    TASK_CHANNELS,
    CommunicationQueued,
    CommunicationReleased,
    CommunicationSent,
    Cost,
)
from amiable_events.db import create_engine
from amiable_events.envelope import account_key
from amiable_events.ids import keyed_id
from amiable_events.personal import PostgresKeyStore, Sealer
from amiable_events.service import KEYS_DATABASE
from tests.risk_givens import TODAY, History, at
from tests.support import auth, eventually, service_key_store, service_on_own_topic

READ, WRITE = "communications:read", "communications:write"
#: Later than the frozen clock: the contact governor leaves a queued message alone until then.
LATER = at(TODAY + timedelta(days=30))


@pytest.fixture(scope="module")
async def communications(infra, tmp_path_factory):
    async with service_on_own_topic(
        infra, "communications", tmp_path_factory.mktemp("communications"), clock=TODAY
    ) as process:
        yield process


@pytest.fixture(scope="module")
async def keys(infra):
    engine = create_engine(infra.database_url, KEYS_DATABASE, pool_size=2)
    yield service_key_store(engine)
    await engine.dispose()


@dataclass
class Desk:
    """A tenant of the test's own on the module's process: its client (both scopes), and the
    events it feeds the process as claims and the communications pipeline write them."""

    api: httpx.AsyncClient
    process: object
    infra: object
    keys: PostgresKeyStore
    tenant: str
    histories: dict[str, History] = field(default_factory=dict)

    async def seal(self, debtor_id: str, text: str) -> str:
        seal = await Sealer(self.keys).sealer_for(account_key(self.tenant, debtor_id))
        return seal(text)

    async def append(self, debtor_id: str, since: int) -> None:
        await self.process.log.append(self.histories[debtor_id].envelopes[since:])

    async def claim(self, debtor_id: str = "D-1", amount: str = "1200.00") -> uuid.UUID:
        """A claim on ``debtor_id`` (a reachable debtor, Debtor SAS), once the service has it."""
        history = self.histories.get(debtor_id)
        if history is None:
            contact = Contact(
                name=await self.seal(debtor_id, "Claire Martin"),
                email=await self.seal(debtor_id, "claire@debtor.example"),
                phone=await self.seal(debtor_id, "+33612345678"),
            )
            history = self.histories[debtor_id] = History(
                self.tenant,
                debtor_id,
                contacts=(contact,),
                postal_address=await self.seal(debtor_id, "1 rue de la Paix\n75002 Paris"),
            )
        since = len(history.envelopes)
        claim_id = history.claim(TODAY - timedelta(days=60), amount=amount)
        await self.append(debtor_id, since)

        async def known():
            answer = await self.api.get(f"/v1/debtors/{debtor_id}/contact-preferences")
            return answer.status_code == 200

        await eventually(known)
        return claim_id

    async def message(
        self,
        claim_id: uuid.UUID,
        *,
        debtor_id: str = "D-1",
        channel: str = "email",
        sent: bool = True,
        review: bool = False,
        claims: tuple[uuid.UUID, ...] = (),
        subject: str = "Invoice overdue",
        body: str = "Please pay 1,200.00 EUR",
    ) -> uuid.UUID:
        """A dunning step's message on ``channel``: in review, queued for later, or sent with
        its content sealed; once the service shows it."""
        history = self.histories[debtor_id]
        since = len(history.envelopes)
        communication_id = keyed_id("comm-test", self.tenant, str(claim_id), str(since))
        common = {"claim_id": claim_id, "communication_id": communication_id}
        now = at(TODAY, 11) + timedelta(seconds=since)  # the later, the newer
        kind = "call_attempt" if channel in TASK_CHANNELS else "reminder"
        history.add(
            CommunicationQueued(
                **common,
                purpose="dunning_step",
                cause_id=uuid.uuid4(),
                claims=(claim_id, *claims),
                channel=channel,
                template="email.reminder",
                tone="neutral",
                language="fr-FR",
                kind=kind,
                not_before=LATER,
                review_required=review,
                revision=1,
                step="first_reminder",
                queued_at=now,
            ),
            now,
        )
        if sent:
            history.add(
                CommunicationReleased(**common, channel=channel, kind=kind, released_at=now), now
            )
            content = orjson.dumps({"subject": subject, "body": body}).decode()
            history.add(
                CommunicationSent(
                    **common,
                    claims=(claim_id, *claims),
                    channel=channel,
                    template="email.reminder",
                    language="fr",
                    tone="neutral",
                    cost=Cost(amount=Decimal("0.02"), currency="EUR"),
                    content=await self.seal(debtor_id, content),
                    registered=channel == "registered_letter",
                    revision=1,
                    step="first_reminder",
                    sent_at=now,
                ),
                now,
            )
        await self.append(debtor_id, since)
        status = "sent" if sent else "in_review" if review else "queued"
        await self.read(communication_id, lambda m: m["status"] == status)
        return communication_id

    async def read(self, communication_id: uuid.UUID, until=lambda message: True) -> dict:
        async def shown():
            answer = await self.api.get(f"/v1/communications/{communication_id}")
            return answer.json() if answer.status_code == 200 and until(answer.json()) else None

        return await eventually(shown)

    async def erase(self, debtor_id: str) -> None:
        """As the claims service erases a debtor: the key shredded, then the event appended."""
        await self.keys.delete(account_key(self.tenant, debtor_id))
        history = self.histories[debtor_id]
        since = len(history.envelopes)
        history.add(
            DebtorPersonalDataErased(debtor_id=debtor_id, erased_at=at(TODAY, 11)), at(TODAY, 11)
        )
        await self.append(debtor_id, since)


@pytest.fixture
async def desk(communications, keys, infra, unique):
    async with httpx.AsyncClient(base_url=communications.url, timeout=60) as client:
        tenant = f"t-{unique}"
        client.headers.update(auth(tenant, READ, WRITE))
        yield Desk(client, communications, infra, keys, tenant)


@pytest.fixture
async def stranger(communications, unique):
    """Another tenant, with every communications scope."""
    async with httpx.AsyncClient(base_url=communications.url, timeout=60) as client:
        client.headers.update(auth(f"other-{unique}", READ, WRITE))
        yield client
