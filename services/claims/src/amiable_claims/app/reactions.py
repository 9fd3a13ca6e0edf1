"""Claims' reactions through the kit, per debtor account: a debtor in collective proceedings
gets no fixed fee on its claims from the opening (``domain.proceedings``), a dispute's
resolution cancels or reduces its claim (``domain.disputes``), and a promise an agent's call
obtained is recorded on its claim (``domain.calls``)."""

from __future__ import annotations

from amiable_claims.adapters.accounts import load_debtor_accounts
from amiable_claims.domain import calls, disputes, proceedings
from amiable_claims.domain.proceedings import evolve_account
from amiable_claims.domain.state import Policy
from amiable_events.communications import CallOutcomeRecorded
from amiable_events.reactions import Reactions, by_account


def reactions(policy: Policy) -> Reactions:
    return Reactions(
        service="claims",
        table={
            **proceedings.REACTIONS,
            **disputes.REACTIONS,
            CallOutcomeRecorded: calls.on_call_outcome(policy),
        },
        load=load_debtor_accounts,
        evolve=evolve_account,
        state_key=by_account,
    )
