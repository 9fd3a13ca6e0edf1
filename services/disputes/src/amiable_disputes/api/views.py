"""A dispute as the API shows it: sealed texts opened for the reader (``[erased]`` once the
debtor's personal data is erased)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from amiable_disputes.api.models import DisputeOut, EvidenceOut, HistoryItem
from amiable_disputes.app.handlers import SEALED, DisputesHandler
from amiable_disputes.domain.decide import ALLOWED
from amiable_disputes.domain.state import ClaimFile, Dispute


def amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


async def present(
    handler: DisputesHandler,
    tenant: str,
    debtor_id: str,
    file: ClaimFile,
    dispute: Dispute,
    *,
    with_history: bool = False,
) -> DisputeOut:
    opened = await handler.opener(tenant, debtor_id)
    history = None
    if with_history:
        rows = await handler.read_model.history(tenant, UUID(dispute.dispute_id))
        history = [
            HistoryItem(
                **{
                    **row,
                    "data": {k: opened(v) if k in SEALED else v for k, v in row["data"].items()},
                }
            )
            for row in rows
        ]
    return DisputeOut(
        **dispute.model_dump(
            exclude={
                "description",
                "resolution_note",
                "disputed_amount",
                "accepted_amount",
                "evidence",
                "breaches",
            }
        ),
        debtor_id=debtor_id,
        invoice_number=file.ledger.invoice_number if file.ledger else None,
        description=opened(dispute.description),
        resolution_note=opened(dispute.resolution_note),
        disputed_amount=amount(dispute.disputed_amount),
        accepted_amount=amount(dispute.accepted_amount),
        evidence=[EvidenceOut(**e.model_dump()) for e in dispute.evidence],
        breaches=list(dispute.breaches),
        allowed=list(ALLOWED[dispute.status]),
        history=history,
    )
