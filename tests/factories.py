"""Deterministic test events shared by the libs/events tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import ClassVar

from amiable_events.base import Event
from amiable_events.claims import ClaimRegistered, Debtor
from amiable_events.envelope import Envelope
from amiable_events.ids import keyed_id
from amiable_events.registry import Upcaster

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def registered(
    n: int, *, tenant: str = "acme", debtor: str | None = None, description: str | None = None
) -> Envelope:
    claim_id = keyed_id("test-claim", tenant, str(n))
    debtor_id = debtor or f"debtor-{n % 50}"
    return Envelope(
        id=keyed_id("test-event", tenant, str(n)),
        subject=str(claim_id),
        time=T0,
        tenant=tenant,
        debtor_id=debtor_id,
        correlation_id=claim_id,
        data=ClaimRegistered(
            claim_id=claim_id,
            invoice_number=f"INV-{n:06d}",
            amount=Decimal("1250.00") + n,
            currency="EUR",
            issued_on=date(2026, 1, 15),
            due_on=date(2026, 2, 14),
            description=description,
            debtor=Debtor(
                id=debtor_id,
                legal_name=f"Debtor {debtor_id} SAS",
                country="FR",
                language="fr-FR",
                timezone="Europe/Paris",
            ),
            registered_at=T0,
        ),
    )


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


class ParcelWeighedV1(Event):
    """A throwaway test event published once as v1..."""

    type: ClassVar[str] = "amiable.test.parcel-weighed.v1"
    source: ClassVar[str] = "test"
    grams: int


class ParcelWeighedV2(Event):
    """...and changed incompatibly into v2: old records are upcast on read."""

    type: ClassVar[str] = "amiable.test.parcel-weighed.v2"
    source: ClassVar[str] = "test"
    weight_kg: str
    scale: str


def upcast_parcel_v1_v2(data: dict) -> dict:
    """Grams become kilograms as a decimal string; v1 never said which scale weighed it."""
    return {"weight_kg": f"{data['grams'] / 1000:.3f}", "scale": "unknown"}


PARCEL_UPCASTER = Upcaster(ParcelWeighedV1.type, ParcelWeighedV2.type, upcast_parcel_v1_v2)
