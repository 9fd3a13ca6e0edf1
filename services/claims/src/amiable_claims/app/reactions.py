"""Claims' reactions through the kit: a debtor in collective proceedings gets no fixed fee on
its claims from the opening (``domain.proceedings``), per debtor account."""

from __future__ import annotations

from amiable_claims.adapters.accounts import load_debtor_accounts
from amiable_claims.domain.proceedings import REACTIONS, evolve_account
from amiable_events.reactions import Reactions, by_account


def reactions() -> Reactions:
    return Reactions(
        service="claims",
        table=REACTIONS,
        load=load_debtor_accounts,
        evolve=evolve_account,
        state_key=by_account,
    )
