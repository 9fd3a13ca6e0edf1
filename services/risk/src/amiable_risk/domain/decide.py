"""Pure deciders: the events a command entails on a debtor account (None: risk has not seen
the debtor yet, which is fine: a credit limit or a proceeding may come before any claim)."""

from __future__ import annotations

from amiable_events.commands import REPEATED, Context
from amiable_events.errors import Conflict, Invalid
from amiable_events.risk import CreditLimitSet, InsolvencyRecorded, SegmentOverridden
from amiable_risk.domain.commands import OverrideSegment, RecordInsolvency, SetCreditLimit
from amiable_risk.domain.state import Account, CreditLimit, Proceeding


def decide_insolvency(state: Account | None, command: RecordInsolvency, context: Context):
    if command.opened_on > context.now.date():
        raise Invalid.field("opened_on", "lies in the future: record a proceeding once opened")
    proceeding = Proceeding(
        kind=command.kind, opened_on=command.opened_on, reference=command.reference
    )
    if state is not None and state.proceeding == proceeding:
        return REPEATED
    return [
        InsolvencyRecorded(
            debtor_id=command.debtor_id,
            kind=command.kind,
            opened_on=command.opened_on,
            reference=command.reference,
            recorded_at=context.now,
        )
    ]


def decide_credit_limit(state: Account | None, command: SetCreditLimit, context: Context):
    if command.amount < 0:
        raise Invalid.field("amount", "must not be negative")
    limit = CreditLimit(amount=command.amount, currency=command.currency)
    if state is not None and state.credit_limit == limit:
        return REPEATED
    return [
        CreditLimitSet(
            debtor_id=command.debtor_id,
            amount=command.amount,
            currency=command.currency,
            set_at=context.now,
        )
    ]


def decide_override(state: Account | None, command: OverrideSegment, context: Context):
    if command.segment == "insolvency":
        raise Invalid.field(
            "segment", "is set by recording collective proceedings (POST .../insolvency)"
        )
    if command.until is not None and command.until < context.now.date():
        raise Invalid.field("until", "lies in the past")
    if state is not None and state.proceeding is not None:
        raise Conflict(
            "the debtor is in collective proceedings: its segment stays insolvency",
            title="Debtor in collective proceedings",
        )
    current = state.override if state is not None else None
    if current is not None and (current.segment, current.until) == (
        command.segment,
        command.until,
    ):
        return REPEATED  # a retry: the reason is sealed afresh each time, so not compared
    return [
        SegmentOverridden(
            debtor_id=command.debtor_id,
            segment=command.segment,
            reason=command.reason,
            until=command.until,
            overridden_at=context.now,
        )
    ]


DECIDERS = {
    RecordInsolvency: decide_insolvency,
    SetCreditLimit: decide_credit_limit,
    OverrideSegment: decide_override,
}
