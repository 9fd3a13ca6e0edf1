"""``amiable demo run``: a generated portfolio played through the public APIs on a moved clock.

:func:`play` is the demo against services already running (the CLI starts them first unless
``--no-start``): it sets the tenant's creditor profile, then, as the moved clock passes each
action's moment (``amiable_demo.play.schedule``), makes that request; meanwhile it reads the log
(the tenant's events only) for the progress line. When the moved clock passes the history's
last day it prints the claims service's KPIs and each service's event count.

A request the services cannot take yet (a dispute on a claim the disputes service has not read
yet, an outage) is tried again a moment later, and the claim's later actions wait for it; one
refused for good is counted and named at the end. Every write carries the action's
Idempotency-Key: a demo started again replays its past actions and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from amiable_demo.generate import Plan
from amiable_demo.play import Action, end_of, instalments
from amiable_demo.tally import Tally
from amiable_events.clock import Clock

#: Real seconds an action may wait for the services (their read models catching up, an outage)
#: before it counts as refused.
RETRY_FOR_S = 20.0
RETRY_S = 0.2
PROGRESS_S = 0.5
#: Requests under way at once, across claims.
IN_FLIGHT = 8
PROFILE = {
    "creditor": {
        "legal_name": "Amiable Demo Fournitures SAS",
        "address": ["12 avenue des Ternes", "75017 Paris"],
        "registration_number": "812345678",
    },
    "iban": "FR7630006000011234567890189",
    "reference_format": "DEMO-{invoice}",
    "reply_email": "recouvrement@demo-creditor.example",
}
#: Who works the disputes at the creditor.
DISPUTE_HANDLER = "demo-credit-controller"
RETRIABLE = {404, 425, 429, 502, 503, 504}


@dataclass(frozen=True)
class Endpoints:
    claims: str = "http://127.0.0.1:8001"
    risk: str = "http://127.0.0.1:8002"
    dunning: str = "http://127.0.0.1:8003"
    communications: str = "http://127.0.0.1:8004"
    disputes: str = "http://127.0.0.1:8005"


@dataclass
class Outcome:
    tally: Tally
    kpis: dict[str, Any]
    aged: dict[str, Any]
    done: int = 0
    refused: list[tuple[Action, str]] = field(default_factory=list)


class Later(Exception):
    """The services cannot take the request yet: try the action again shortly."""


class Refused(Exception):
    """The services refused the request for good."""


def _check(answer: httpx.Response, *ok: int) -> dict[str, Any]:
    if answer.status_code in (ok or (200, 201)):
        return answer.json()
    if answer.status_code in RETRIABLE:
        raise Later(f"{answer.status_code} {answer.text[:200]}")
    raise Refused(
        f"{answer.request.method} {answer.request.url.path}: {answer.status_code} "
        f"{answer.text[:300]}"
    )


class Player:
    """Makes each action's requests; remembers the ids the services gave (claims, disputes)."""

    def __init__(self, clients: dict[str, httpx.AsyncClient], clock: Clock) -> None:
        self.api = clients
        self.clock = clock
        self.claims: dict[str, str] = {}
        self.disputes: dict[str, str] = {}

    async def act(self, action: Action) -> None:
        await getattr(self, f"_{action.kind}")(action)

    def _claim(self, action: Action) -> str:
        if action.invoice not in self.claims:
            raise Later(f"claim {action.invoice} not registered yet")
        return self.claims[action.invoice]

    async def _post(self, service: str, path: str, action: Action, body: dict, suffix=""):
        headers = {"Idempotency-Key": action.key + suffix}
        return await self.api[service].post(path, json=body, headers=headers)

    async def _due(self, claim_id: str, on: str) -> Decimal:
        answer = await self.api["claims"].get(
            f"/v1/claims/{claim_id}/amount-due", params={"as_of": on}
        )
        return Decimal(_check(answer, 200)["total"])

    async def _register(self, action: Action) -> None:
        answer = await self._post("claims", "/v1/claims", action, action.body)
        if answer.status_code == 409 and "existing_claim_id" in answer.text:
            # registered before under another key (an earlier demo on this tenant)
            self.claims[action.invoice] = answer.json()["existing_claim_id"]
            return
        self.claims[action.invoice] = _check(answer, 201)["id"]

    async def _pay(self, action: Action, amount: Decimal | str | None = None) -> None:
        claim_id = self._claim(action)
        received_on = action.body["received_on"]
        amount = amount or action.body.get("amount") or await self._due(claim_id, received_on)
        if Decimal(amount) <= 0:
            return  # closed already: nothing left to pay
        body = {
            "amount": str(amount),
            "received_on": received_on,
            "method": action.body.get("method", "transfer"),
            "reference": f"DEMO-{action.invoice}",
        }
        _check(await self._post("claims", f"/v1/claims/{claim_id}/payments", action, body), 201)

    async def _pay_instalment(self, action: Action) -> None:
        claim_id = self._claim(action)
        if action.body["everything_due"]:
            return await self._pay(action)
        claim = _check(await self.api["claims"].get(f"/v1/claims/{claim_id}"), 200)
        plan = claim.get("plan") or {}
        installments = plan.get("installments") or []
        index = action.body["instalment"]
        if index >= len(installments):
            raise Refused(f"claim {action.invoice} has no instalment {index + 1}")
        return await self._pay(action, installments[index]["amount"])

    async def _promise(self, action: Action) -> None:
        claim_id = self._claim(action)
        # What was due on the action's day, not now: the same request when played again.
        amount = await self._due(claim_id, action.at.date().isoformat())
        if amount <= 0:
            return
        body = {
            "amount": str(amount),
            "promised_on": action.body["promised_on"],
            "source": action.body["source"],
        }
        _check(await self._post("claims", f"/v1/claims/{claim_id}/promises", action, body), 201)

    async def _plan(self, action: Action) -> None:
        claim_id = self._claim(action)
        # Today's balance at the service: read and agreed on the same moved day, or again.
        claim = _check(await self.api["claims"].get(f"/v1/claims/{claim_id}"), 200)
        if claim["plan"] is not None:
            return  # agreed already (the demo started again): its key named another balance
        balance = await self._due(claim_id, self.clock.now().date().isoformat())
        if balance <= 0:
            return
        body = {
            "installments": instalments(balance, claim["currency"], action.body["due_on"]),
            "grace_days": action.body["grace_days"],
        }
        answer = await self._post(
            "claims", f"/v1/claims/{claim_id}/payment-plan", action, body, f"-{balance}"
        )
        if answer.status_code == 422 and "balance due" in answer.text:
            raise Later("the moved day turned between reading the balance and the plan")
        _check(answer, 201)

    async def _dispute(self, action: Action) -> None:
        body = {
            "claim_id": self._claim(action),
            "reason": action.body["reason"],
            "raised_by": "debtor_contact",
            "description": "The delivery does not match the order.",
        }
        if action.body["disputed_amount"]:
            body["disputed_amount"] = action.body["disputed_amount"]
        answer = await self._post("disputes", "/v1/disputes", action, body)
        self.disputes[action.invoice] = _check(answer, 201)["dispute_id"]

    async def _resolve_dispute(self, action: Action) -> None:
        dispute_id = self.disputes.get(action.invoice)
        if dispute_id is None:
            raise Refused(f"no dispute opened on {action.invoice}")
        path = f"/v1/disputes/{dispute_id}"
        assign = {"assignee": DISPUTE_HANDLER}
        _check(await self._post("disputes", f"{path}/assign", action, assign, "-assign"), 200)
        resolve = {
            "outcome": action.body["outcome"],
            "resolution_note": "Credit note issued for the disputed part.",
        }
        _check(await self._post("disputes", f"{path}/resolve", action, resolve), 200)

    async def _write_off(self, action: Action) -> None:
        claim_id = self._claim(action)
        body = {"reason": action.body["reason"]}
        _check(await self._post("claims", f"/v1/claims/{claim_id}/write-off", action, body), 200)

    async def _insolvency(self, action: Action) -> None:
        path = f"/v1/debtors/{action.debtor_id}/insolvency"
        _check(await self._post("risk", path, action, action.body), 200, 201)


async def watch_log(
    bootstrap: str, topic: str, tenant: str, tally: Tally, kafka_options: dict[str, Any]
) -> None:
    """Count the tenant's events on the log from its beginning, until cancelled."""
    from aiokafka import AIOKafkaConsumer

    from amiable_events.projection import topic_partitions

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **kafka_options,
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        wanted = tenant.encode()
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    headers = dict(record.headers)
                    if headers.get("ce_tenant") == wanted:
                        tally.see(
                            headers.get("ce_source", b"?").decode(),
                            headers.get("ce_type", b"?").decode(),
                        )
    finally:
        await consumer.stop()


async def play(
    plan: Plan,
    actions: list[Action],
    *,
    clock: Clock,
    token: str,
    endpoints: Endpoints,
    bootstrap: str,
    topic: str,
    kafka_options: dict[str, Any] | None = None,
    progress: Callable[[str], Any] = print,
    alive: Callable[[], Any] = lambda: None,
) -> Outcome:
    """Play ``actions`` as the moved ``clock`` reaches them, then read the KPIs of the period."""
    tenant = plan.tenants[0]
    headers = {"Authorization": f"Bearer {token}"}
    clients = {
        name: httpx.AsyncClient(base_url=getattr(endpoints, name), headers=headers, timeout=30)
        for name in ("claims", "risk", "dunning", "communications", "disputes")
    }
    tally = Tally()
    # The log's security settings (TLS, SASL) as the services' own clients take them.
    reader = watch_log(bootstrap, topic, tenant, tally, kafka_options or {})
    watcher = asyncio.create_task(reader)
    try:
        profile = await clients["communications"].put("/v1/creditor-profile", json=PROFILE)
        _check(profile, 200)
        outcome = Outcome(tally, {}, {})

        def still_running() -> None:
            alive()
            if watcher.done():
                watcher.result()  # the log reader failed: its error, rather than a frozen count

        player = Player(clients, clock)
        await _play_actions(player, actions, clock, end_of(plan), outcome, progress, still_running)
        last_day = plan.end.isoformat()
        params = {"from": plan.start.isoformat(), "to": last_day}
        outcome.kpis = _check(await clients["claims"].get("/v1/portfolio/kpis", params=params))
        aged = await clients["claims"].get("/v1/portfolio/aged-balance", params={"as_of": last_day})
        outcome.aged = _check(aged)
        progress(tally.line(clock.now()))
        return outcome
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
        for client in clients.values():
            await client.aclose()


async def _play_actions(player, actions, clock, end, outcome, progress, alive) -> None:
    """Each claim's actions (a debtor's, for proceedings) in order, the claims side by side: a
    request the services answer slowly holds up its own claim only."""
    lanes: dict[str, list[Action]] = {}
    for action in actions:
        lanes.setdefault(action.invoice or action.debtor_id, []).append(action)
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    tasks = [
        asyncio.create_task(_lane(player, lane, clock, outcome, in_flight))
        for lane in lanes.values()
    ]
    try:
        while True:
            alive()
            for task in tasks:
                if task.done():
                    task.result()  # a bug in a lane: its error, not a demo that hangs
            progress(outcome.tally.line(clock.now()))
            if all(task.done() for task in tasks) and clock.now() >= end:
                return
            await asyncio.sleep(PROGRESS_S)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _lane(player, actions, clock, outcome, in_flight) -> None:
    for action in actions:
        await _until(clock, action.at)
        first_try = time.monotonic()
        while True:
            try:
                async with in_flight:
                    await player.act(action)
                outcome.done += 1
                break
            except (Later, httpx.TransportError) as exc:
                if time.monotonic() - first_try > RETRY_FOR_S:
                    outcome.refused.append((action, f"still not taken: {exc}"))
                    break
                await asyncio.sleep(RETRY_S)
            except Refused as exc:
                outcome.refused.append((action, str(exc)))
                break


async def _until(clock: Clock, moment: datetime) -> None:
    """Sleep until the moved ``clock`` reaches ``moment``; a clock that does not move (a
    replay at a frozen time) is there already."""
    speed = getattr(clock, "speed", None)
    if speed:
        # Moved time runs linearly: one sleep gets there.
        await asyncio.sleep(max(0.0, (moment - clock.now()).total_seconds() / speed))


def kpi_table(kpis: dict[str, Any], aged: dict[str, Any]) -> list[str]:
    """The KPI route's figures as printed: one row per currency, then the aged balance."""
    lines = [
        f"KPIs {kpis['from']} to {kpis['to']} (GET /v1/portfolio/kpis)",
        f"{'currency':<9}{'placed':>7}{'settled':>8}{'disputed':>9}{'recovery':>10}"
        f"{'DSO days':>10}{'dispute rate':>13}{'cost of recovery':>18}",
    ]
    for row in kpis["currencies"]:
        lines.append(
            f"{row['currency']:<9}{row['placed_count']:>7}{row['settled_count']:>8}"
            f"{row['disputed_count']:>9}{_rate(row['recovery_rate']):>10}"
            f"{_plain(row['dso_days']):>10}{_rate(row['dispute_rate']):>13}"
            f"{_rate(row['cost_of_recovery']):>18}"
        )
    lines.append(f"aged balance at {aged['as_of']} (GET /v1/portfolio/aged-balance)")
    for currency in aged["currencies"]:
        buckets = "  ".join(
            f"{b['label']} {b['amount']} ({b['count']})" for b in currency["buckets"]
        )
        lines.append(f"{currency['currency']:<9}{buckets}  total {currency['total']}")
    return lines


def _rate(value: str | None) -> str:
    return "-" if value is None else f"{Decimal(value) * 100:.1f}%"


def _plain(value: str | None) -> str:
    return "-" if value is None else str(value)


def service_table(tally: Tally) -> list[str]:
    return [
        "events per service: "
        + ", ".join(f"{name} {count}" for name, count in sorted(tally.by_service.items()))
    ]


def print_outcome(outcome: Outcome, say: Callable[[str], Any]) -> None:
    for line in kpi_table(outcome.kpis, outcome.aged):
        say(line)
    for line in service_table(outcome.tally):
        say(line)
    say(f"actions played {outcome.done}, refused {len(outcome.refused)}")
    for action, reason in outcome.refused[:10]:
        say(f"  {action.at:%Y-%m-%d} {action.kind} {action.invoice or action.debtor_id}: {reason}")
