"""A debtor account as the API shows it."""

from __future__ import annotations

from amiable_risk.api.models import CreditLimitOut, OverrideOut, ProceedingOut, RiskOut
from amiable_risk.app.handlers import RiskHandler
from amiable_risk.domain.assess import signals
from amiable_risk.domain.features import features
from amiable_risk.domain.state import Account


async def present(handler: RiskHandler, tenant: str, account: Account) -> RiskOut:
    assessment = account.assessment
    facts = (
        features(account, account.as_of, handler.scorecard) if account.as_of is not None else None
    )
    override = account.override
    return RiskOut(
        debtor_id=account.debtor_id,
        score=assessment.score if assessment else None,
        band=assessment.band if assessment else None,
        grade=assessment.grade if assessment else None,
        segment=assessment.segment if assessment else None,
        scored_segment=assessment.scored_segment if assessment else None,
        reasons=list(assessment.reasons) if assessment else [],
        features=facts.as_json() if facts else None,
        scorecard_version=assessment.scorecard_version if assessment else None,
        as_of=account.as_of,
        assessed_at=account.assessed_at,
        active_signals=[a.signal for a in signals(account, facts, handler.scorecard)]
        if facts
        else [],
        proceeding=ProceedingOut(**account.proceeding.model_dump()) if account.proceeding else None,
        credit_limit=CreditLimitOut(
            amount=format(account.credit_limit.amount, "f"),
            currency=account.credit_limit.currency,
        )
        if account.credit_limit
        else None,
        override=OverrideOut(
            segment=override.segment,
            until=override.until,
            reason=await handler.override_reason(tenant, account.debtor_id, override.reason),
        )
        if override
        else None,
    )
