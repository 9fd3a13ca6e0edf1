"""What each consuming service reads from the claim log: its declared inputs.

Per service and ``ce_type``, the payload fields its code reads (dotted paths, ``[]`` for the
items of an array). ``required`` fields are read as always there and never null (``row["x"]``,
a NOT NULL column); ``optional`` ones are read with ``None`` handled. ``test_consumers`` checks
every declaration against the committed schemas, so a producer cannot drop or loosen a field a
consumer relies on, and a consumer cannot start relying on a field nobody guarantees.

Keep a service's entry in step with its projection, API and workers when they read a new field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reads:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


CLAIM_REGISTERED = "amiable.claims.claim-registered.v1"

CONSUMERS: dict[str, dict[str, Reads]] = {
    "claims": {
        # projection.py (the claims row via domain.evolve, debtor_accounts) and api.py (present).
        CLAIM_REGISTERED: Reads(
            required=(
                "claim_id",
                "invoice_number",
                "amount",
                "currency",
                "issued_on",
                "due_on",
                "registered_at",
                "debtor",
                "debtor.id",
                "debtor.legal_name",
                "debtor.country",
                "debtor.language",
                "debtor.timezone",
            ),
            optional=(
                "contract_reference",
                "purchase_order",
                "description",
                "idempotency_key",
                "debtor.registration_id",
                "debtor.contacts",
                "debtor.contacts[].name",
                "debtor.contacts[].email",
                "debtor.contacts[].phone",
                "debtor.contacts[].role",
                "debtor.contacts[].role_sealed",
                "debtor.postal_address",
            ),
        ),
    },
}
