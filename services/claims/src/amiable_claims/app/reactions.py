"""Claims' reactions through the kit, per debtor account: a debtor in collective proceedings
gets no fixed fee on its claims from the opening (``domain.proceedings``), and a dispute's
resolution cancels or reduces its claim (``domain.disputes``)."""

from __future__ import annotations

from amiable_claims.adapters.accounts import load_debtor_accounts
from amiable_claims.domain import disputes, proceedings
from amiable_claims.domain.proceedings import evolve_account
from amiable_events.reactions import Reactions, by_account

REACTIONS = {**proceedings.REACTIONS, **disputes.REACTIONS}


def reactions() -> Reactions:
    return Reactions(
        service="claims",
        table=REACTIONS,
        load=load_debtor_accounts,
        evolve=evolve_account,
        state_key=by_account,
    )
