"""What a message cost each claim it was about: communications' ``CommunicationSent.cost``, a
recovery cost (``domain.kpis``, cost of recovery).

A message about several claims (a consolidation group) shares its cost evenly between them:
each gets the cost divided by their number, rounded down to the currency's minor unit, and the
first claim (the group's leader) gets what rounding leaves over, so the shares add up to the
cost exactly. A cost in another currency than the claim's counts nothing on it: amounts in two
currencies are never added, and there is no conversion.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from uuid import UUID

from amiable_events.communications import CommunicationSent
from amiable_rules import money

_ZERO = Decimal(0)


def shares(cost: Decimal, currency: str, claims: tuple[UUID, ...]) -> dict[UUID, Decimal]:
    """Each claim's share of ``cost``, in order (a claim named twice counts once)."""
    unique = tuple(dict.fromkeys(claims))
    even = (cost / len(unique)).quantize(money.unit(currency), ROUND_DOWN)
    found = dict.fromkeys(unique, even)
    found[unique[0]] = cost - even * (len(unique) - 1)
    return found


def share(sent: CommunicationSent, claim_id: UUID, currency: str) -> Decimal:
    """What ``sent`` cost the claim ``claim_id``, whose currency is ``currency``."""
    if sent.cost.currency != currency or claim_id not in sent.claims:
        return _ZERO
    return shares(sent.cost.amount, currency, sent.claims)[claim_id]
