"""Givens for the communications sender's tests on the real stack: a communications process on a
topic, schema and consumer group of its own, sending to the test's SMTP sink
(``tests.smtp_sink``) on a clock frozen at noon UTC on ``TODAY``; debtors whose contacts are
sealed as claims seals them; a claim's history played through dunning (with the shipped policy
or a variant) and appended, as the two services would have written it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import httpx

from amiable_dunning.domain.policy import Policy
from amiable_events.catalog import REGISTRY
from amiable_events.claims import Contact, DebtorPersonalDataErased
from amiable_events.db import create_engine, raw
from amiable_events.envelope import account_key, decode
from amiable_events.personal import PostgresKeyStore, Sealer
from amiable_events.producer import EventLog
from amiable_events.service import KEYS_DATABASE
from tests.dunning_givens import POLICY, Played, play
from tests.risk_givens import TODAY, History, at
from tests.support import (
    ServiceProcess,
    auth,
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
    eventually,
    free_port,
    read_topic,
    service_env,
    service_key_store,
    unique_name,
)

NAME = "communications"
DATABASE = f"amiable_{NAME}"
NOW = at(TODAY, 12)
PROFILE = {
    "creditor": {
        "legal_name": "Acme Fournitures SAS",
        "address": ["12 avenue des Ternes", "75017 Paris"],
        "registration_number": "812 345 678",
    },
    "iban": "FR7630006000011234567890189",
    "reference_format": "ACME-{invoice}",
    "reply_email": "recouvrement@acme.example",
}
#: Issued this long before the service's day, a claim's email reminder (due date + 7 business
#: days) is due that morning.
REMINDER_DUE_TODAY = timedelta(days=40)


@contextlib.asynccontextmanager
async def communications(infra, log_dir: Path, **settings: str):
    """A communications process with ``settings`` (``AMIABLE_<NAME>``), ready, with
    ``process.log`` to feed it and ``process.topic``; gone afterwards with its topic and schema.
    The process may be killed and started again inside."""
    topic = await create_topic(infra.bootstrap, unique_name(NAME))
    schema = topic.replace("-", "_")
    await ensure_dlq(infra.bootstrap, NAME)
    env = service_env(
        infra,
        clock=NOW,
        topic=topic,
        projection_schema=schema,
        consumer_group=f"{NAME}-{schema}",
        **settings,
    )
    process = ServiceProcess(NAME, free_port(), env, log_dir / f"{NAME}.log").start()
    log = EventLog(infra.bootstrap, topic=topic, client_id=f"{NAME}-sender-test")
    await log.start()
    try:
        process.wait_ready()
        process.log, process.topic = log, topic
        yield process
    finally:
        await log.stop()
        process.stop()
        await drop_schemas(infra.database_url, DATABASE, [schema, f"{schema}_rebuild"])
        await delete_topics(infra.bootstrap, [topic])


def with_step(track: str, key: str, **changes) -> Policy:
    """The shipped policy with one step of ``track`` changed, validated as a tenant's would be."""
    data = POLICY.model_dump(mode="json")
    steps = data["tracks"][track]["steps"]
    (step,) = [s for s in steps if s["key"] == key]
    step.update(changes)
    return Policy.model_validate(data)


@dataclass
class Tenant:
    """A tenant of the test's own on a communications process: its API client (both scopes)
    and the debtors it feeds the process."""

    process: ServiceProcess
    api: httpx.AsyncClient
    keys: PostgresKeyStore
    name: str
    fed: set = field(default_factory=set)

    async def set_profile(self) -> None:
        answer = await self.api.put("/v1/creditor-profile", json=PROFILE)
        assert answer.status_code == 200, answer.text

    async def debtor(self, debtor_id: str, *, email: str, phone: str = "+33612345678") -> History:
        seal = await Sealer(self.keys).sealer_for(account_key(self.name, debtor_id))
        contact = Contact(name=seal("Claire Martin"), email=seal(email), phone=seal(phone))
        address = seal('{"lines": ["1 rue de la Paix"], "postal_code": "75002", "city": "Paris"}')
        return History(
            self.name, debtor_id, contacts=(contact,), postal_address=address, language="fr-FR"
        )

    async def feed(self, history: History, policy: Policy = POLICY) -> Played:
        """The history and what dunning appended for it up to the service's clock, in time
        order, less what was fed already; what dunning appended."""
        dunning = play(history, NOW, policy)
        log = sorted(
            [e for e in (*history.envelopes, *dunning.appended) if e.id not in self.fed],
            key=lambda e: e.time,
        )
        self.fed.update(e.id for e in log)
        await self.process.log.append(log)
        return dunning

    async def erase(self, history: History) -> None:
        """As claims erases a debtor: the key shredded, then the event appended."""
        await self.keys.delete(account_key(self.name, history.debtor_id))
        since = len(history.envelopes)
        history.add(DebtorPersonalDataErased(debtor_id=history.debtor_id, erased_at=NOW), NOW)
        self.fed.update(e.id for e in history.envelopes[since:])
        await self.process.log.append(history.envelopes[since:])

    async def message(self, claim_id: UUID, channel: str, statuses: tuple[str, ...]) -> dict:
        """The claim's message on ``channel`` once its status is one of ``statuses``."""

        async def settled():
            answer = await self.api.get("/v1/communications", params={"claim_id": str(claim_id)})
            assert answer.status_code == 200, answer.text
            found = [m for m in answer.json()["items"] if m["channel"] == channel]
            return found[0] if found and found[0]["status"] in statuses else None

        summary = await eventually(settled, timeout=90, interval=0.2)
        answer = await self.api.get(f"/v1/communications/{summary['communication_id']}")
        assert answer.status_code == 200, answer.text
        return answer.json()


@contextlib.asynccontextmanager
async def tenant(process: ServiceProcess, infra, name: str):
    engine = create_engine(infra.database_url, KEYS_DATABASE, pool_size=2)
    try:
        async with httpx.AsyncClient(base_url=process.url, timeout=60) as api:
            api.headers.update(auth(name, "communications:read", "communications:write"))
            yield Tenant(process, api, service_key_store(engine), name)
    finally:
        await engine.dispose()


async def logged(process: ServiceProcess, kind) -> dict[str, list]:
    """The ``kind`` events on the process's topic by communication id, duplicates included."""
    found: dict[str, list] = {}
    for record in await read_topic(process.env["AMIABLE_KAFKA_BOOTSTRAP"], process.topic):
        event = decode(REGISTRY, record.key, record.value, record.headers).data
        if isinstance(event, kind):
            found.setdefault(str(event.communication_id), []).append(event)
    return found


async def delivery(infra, communication_id) -> dict | None:
    """The sender's own record of the communication (``sender.deliveries``)."""
    engine = create_engine(infra.database_url, DATABASE, pool_size=1)
    try:
        async with raw(engine) as conn:
            row = await conn.fetchrow(
                "SELECT * FROM sender.deliveries WHERE communication_id = $1",
                UUID(str(communication_id)),
            )
        return None if row is None else dict(row)
    finally:
        await engine.dispose()
