"""Erasing a debtor's personal data, on two replicas of the claims service sharing the log's
partitions: the key is shredded, the event is on the log, and both replicas answer `[erased]`
at once (the other replica had the key in its cache), for sealed values and for free text that
older events carried in clear."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from amiable_events.claims import DebtorPersonalDataErased
from amiable_events.personal import ERASED
from amiable_events.producer import EventLog
from tests.factories import registered
from tests.support import auth, eventually, read_topic

pytestmark = pytest.mark.integration


async def test_erasure_shreds_the_key_and_every_replica_reads_erased_at_once(
    infra, fresh_topic, service_process, unique
):
    topic = await fresh_topic("erasure")
    settings = {
        "topic": topic,
        "projection_schema": f"erasure_{unique}",
        "consumer_group": f"erasure-{unique}",
    }
    tenant, debtor = f"erase-{unique}", "D-ERASE"
    one = service_process("claims", **settings).start()
    other = service_process("claims", **settings).start()
    one.wait_ready()
    other.wait_ready()
    headers = auth(tenant, "claims:write", "claims:read")
    eraser = auth(tenant, "debtors:erase")
    body = {
        "invoice_number": "E-1",
        "amount": "900.00",
        "currency": "EUR",
        "issued_on": str(one.today - timedelta(days=60)),
        "due_on": str(one.today - timedelta(days=30)),
        "description": "Ask for Claire Martin, she handles the Lyon site",
        "debtor": {
            "id": debtor,
            "legal_name": "Durand SAS",
            "country": "FR",
            "contacts": [
                {"name": "Claire Martin", "email": "claire@durand.example", "role": "CFO"}
            ],
            "postal_address": {"lines": ["12 rue de la Paix"], "city": "Paris", "country": "FR"},
        },
    }
    # A claim of the same debtor registered before free text was sealed: its description is in
    # clear on the log (and in the projection).
    old = registered(1, tenant=tenant, debtor=debtor, description="Call Jean Dupont directly")
    log = EventLog(infra.bootstrap, topic=topic, client_id="erasure-test")
    await log.start()
    try:
        await log.append([old])
    finally:
        await log.stop()

    async with (
        httpx.AsyncClient(base_url=one.url, timeout=30, headers=headers) as api,
        httpx.AsyncClient(base_url=other.url, timeout=30, headers=headers) as replica,
    ):
        created = await api.post("/v1/claims", json=body)
        assert created.status_code == 201, created.text
        url = f"/v1/claims/{created.json()['id']}"
        old_url = f"/v1/claims/{old.data.claim_id}"
        await eventually(lambda: _status(replica, old_url, 200))
        # both replicas open the debtor's data (and so hold its key in their caches)
        for client in (api, replica):
            claim = await eventually(lambda c=client: _json(c, url))
            contact = claim["debtor"]["contacts"][0]
            assert (contact["name"], contact["role"]) == ("Claire Martin", "CFO")
            assert claim["description"] == body["description"]
        # a write-off reason and an acknowledgement's reference may name a person too
        acknowledged = await api.post(
            f"{url}/acknowledgements",
            json={"acknowledged_on": str(one.today), "reference": "Claire's letter"},
        )
        assert acknowledged.status_code == 201, acknowledged.text
        reason = "Claire Martin says the site closed"
        written_off = await api.post(f"{url}/write-off", json={"reason": reason})
        assert written_off.status_code == 200, written_off.text
        assert written_off.json()["close_reason"] == reason
        # free text that may name a person is sealed on the log, never in clear
        records = await read_topic(infra.bootstrap, topic)
        assert not any(b"Claire" in r.value or b"CFO" in r.value for r in records)

        path = f"/v1/debtors/{debtor}/personal-data"
        assert (await api.delete(path)).status_code == 403  # claims:write is not enough
        assert (await api.delete(path, headers=auth(tenant, "claims:read"))).status_code == 403
        other_tenant = auth(f"other-{unique}", "debtors:erase")
        assert (await api.delete(path, headers=other_tenant)).status_code == 404
        assert (await api.delete(path, headers={"Authorization": ""})).status_code == 401
        erased = await api.delete(path, headers=eraser)
        assert erased.status_code == 200, erased.text
        assert erased.json()["debtor_id"] == debtor

        # The answering replica shows it right away; the other within moments, not after its
        # cache's 30 seconds: the erasure reached it through the key store's notification.
        claim = (await api.get(url)).json()
        assert_erased(claim)
        assert_erased(await eventually(lambda: _erased(replica, url), timeout=3))
        for client in (api, replica):
            assert (await client.get(old_url)).json()["description"] == ERASED

        # the event is on the log, about the debtor account, with who erased it
        [record] = [
            r
            for r in await read_topic(infra.bootstrap, topic)
            if dict(r.headers)["ce_type"] == DebtorPersonalDataErased.type.encode()
        ]
        assert record.key == f"{tenant}:{debtor}".encode()
        assert dict(record.headers)["ce_subject"] == f"debtor:{debtor}".encode()
        assert dict(record.headers)["ce_actor"] == b"dev"

        # the debtor's claims and amounts stay; a new claim on it is readable (a new key)
        assert claim["amount"] == "900.00"
        again = await api.post("/v1/claims", json={**body, "invoice_number": "E-2"})
        assert again.status_code == 201, again.text
        assert again.json()["debtor"]["contacts"][0]["name"] == "Claire Martin"
        assert_erased((await api.get(url)).json())


def assert_erased(claim: dict) -> None:
    contact = claim["debtor"]["contacts"][0]
    assert contact == {"name": ERASED, "email": ERASED, "phone": None, "role": ERASED}
    assert claim["description"] == ERASED
    assert claim["close_reason"] == ERASED
    assert claim["debtor"]["postal_address"] == ERASED
    assert claim["debtor"]["legal_name"] == "Durand SAS"  # a company, not a person


async def _status(client: httpx.AsyncClient, url: str, status: int) -> bool:
    return (await client.get(url)).status_code == status


async def _json(client: httpx.AsyncClient, url: str) -> dict | None:
    answer = await client.get(url)
    return answer.json() if answer.status_code == 200 else None


async def _erased(client: httpx.AsyncClient, url: str) -> dict | None:
    claim = (await client.get(url)).json()
    return claim if claim["description"] == ERASED else None
