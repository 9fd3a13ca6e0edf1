"""The toy projection: open claims per debtor account, from amiable's CloudEvents.

It reads only what it needs from each event, so a new optional field changes nothing, and it
keeps the ids it has applied, so a record delivered twice (Kafka's at-least-once) is applied
once. A type it does not know is counted and passed over: amiable adds event types, and an old
consumer must keep running. A newer version of a type it reads is counted apart and logged:
that one is a fact it cannot read yet.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from cloudevents.core.base import BaseCloudEvent

REGISTERED = "amiable.claims.claim-registered.v1"
PAYMENT = "amiable.claims.payment-received.v1"
ADJUSTED = "amiable.claims.claim-adjusted.v1"
ESCALATED = "amiable.dunning.claim-escalated.v1"
#: A claim that is closed for good: paid, written off, cancelled, or refused at intake.
CLOSING = {
    "amiable.claims.claim-settled.v1": "settled",
    "amiable.claims.claim-written-off.v1": "written_off",
    "amiable.claims.claim-cancelled.v1": "cancelled",
    "amiable.claims.claim-rejected.v1": "rejected",
}
#: The types this projection reads.
HANDLED = {REGISTERED, PAYMENT, ADJUSTED, ESCALATED, *CLOSING}
#: The same without the version: a ``...v2`` of one of them means this code is behind. amiable
#: announces a new version 90 days before it emits it, and then emits only the new one, so
#: passing it over silently would lose facts (docs/events.md, "Compatibility promise").
_READ = {kind.rsplit(".", 1)[0] for kind in HANDLED}

logger = logging.getLogger("claims_consumer")


@dataclass
class OpenClaim:
    claim_id: str
    invoice_number: str
    currency: str
    amount: Decimal
    paid: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)
    escalated: bool = False

    @property
    def outstanding(self) -> Decimal:
        """The invoice less payments and credit notes: a toy figure. Late interest and fees
        are not counted here; the claims API's ``GET /v1/claims/{id}/amount-due`` has them."""
        return max(self.amount - self.paid - self.credited, Decimal(0))


@dataclass
class Projection:
    #: debtor account (``<tenant>:<debtor id>``) -> claim id -> the claim, while it is open
    accounts: dict[str, dict[str, OpenClaim]] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)
    ignored: Counter[str] = field(default_factory=Counter)
    #: newer versions of types this code reads: alert on it, the code must learn them
    behind: Counter[str] = field(default_factory=Counter)
    _account_of: dict[str, str] = field(default_factory=dict)

    def apply(self, event: BaseCloudEvent) -> bool:
        """Apply one event; False when it was a redelivery or of a type passed over."""
        event_id = event.get_id()
        if event_id in self.applied:
            return False
        self.applied.add(event_id)
        kind = event.get_type()
        if kind not in HANDLED:
            if kind.rsplit(".", 1)[0] in _READ:
                if not self.behind[kind]:
                    logger.warning("%s is a newer version of a type this code reads", kind)
                self.behind[kind] += 1
            else:
                self.ignored[kind] += 1
            return False
        data: dict[str, Any] = event.get_data() or {}
        if kind == REGISTERED:
            self._register(event, data)
            return True
        claim = self._claim(data["claim_id"])
        if claim is None:  # the registration came before this consumer's start: not ours
            return False
        if kind in CLOSING:
            del self.accounts[self._account_of[claim.claim_id]][claim.claim_id]
        elif kind == PAYMENT and data["currency"] == claim.currency:
            claim.paid += Decimal(data["amount"])
        elif kind == ADJUSTED:
            claim.credited += Decimal(data["amount"])
        elif kind == ESCALATED:
            claim.escalated = True  # handed to litigation: still owed, still open
        return True

    def _register(self, event: BaseCloudEvent, data: dict[str, Any]) -> None:
        account = f"{event.get_extension('tenant')}:{data['debtor']['id']}"
        claim = OpenClaim(
            claim_id=data["claim_id"],
            invoice_number=data["invoice_number"],
            currency=data["currency"],
            amount=Decimal(data["amount"]),
        )
        self._account_of[claim.claim_id] = account
        self.accounts.setdefault(account, {})[claim.claim_id] = claim

    def _claim(self, claim_id: str) -> OpenClaim | None:
        account = self._account_of.get(claim_id)
        return None if account is None else self.accounts[account].get(claim_id)

    def open_claims(self) -> dict[str, list[OpenClaim]]:
        """Each debtor account with at least one open claim, and those claims."""
        return {account: list(c.values()) for account, c in self.accounts.items() if c}

    def summary(self) -> str:
        lines = []
        for account, claims in sorted(self.open_claims().items()):
            for c in claims:
                flag = " (escalated)" if c.escalated else ""
                lines.append(
                    f"{account}  {c.invoice_number}  {c.outstanding} {c.currency} open{flag}"
                )
        ignored = sum(self.ignored.values())
        lines.append(f"{len(self.applied)} events read, {ignored} of types passed over")
        if self.behind:
            newer = ", ".join(f"{kind} ({count})" for kind, count in sorted(self.behind.items()))
            lines.append(f"BEHIND: newer versions of types this code reads: {newer}")
        return "\n".join(lines)
