"""Claims service settings (env prefix ``AMIABLE_``)."""

from __future__ import annotations

from pydantic import Field

from amiable_events.settings import ServiceSettings
from amiable_rules.late_fees import Allocation


class ClaimsSettings(ServiceSettings):
    # How a payment is allocated: to the fixed fee and late interest first, then the principal
    # (the default, as creditors usually stipulate), or to the principal first.
    payment_allocation: Allocation = "fees_interest_first"
    # The law governing a claim that names none: the creditor's country (ISO 3166-1 alpha-2) or
    # "none" (no statute). Per tenant: a JSON object, e.g. {"acme-uk": "GB", "acme-us": "none"}.
    default_governing_law: str = Field("FR", pattern=r"^([A-Z]{2}|none)$")
    tenant_governing_law: dict[str, str] = Field(default_factory=dict)
    # Late interest does not run while a payment plan is respected.
    suspend_interest_on_respected_plan: bool = True
    installment_grace_days: int = 5
    promise_grace_days: int = 3
