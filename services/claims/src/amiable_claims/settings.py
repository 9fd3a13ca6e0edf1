"""Claims service settings (env prefix ``AMIABLE_``)."""

from __future__ import annotations

from typing import Literal

from amiable_events.settings import ServiceSettings


class ClaimsSettings(ServiceSettings):
    port: int = 8001
    database: str = "amiable_claims"
    keys_database: str = "amiable_keys"
    # How a payment is allocated: to the fixed fee and late interest first, then the principal
    # (the default, as creditors usually stipulate), or to the principal first.
    payment_allocation: Literal["fees_interest_first", "principal_first"] = "fees_interest_first"
    # Late interest does not run while a payment plan is respected.
    suspend_interest_on_respected_plan: bool = True
    installment_grace_days: int = 5
    promise_grace_days: int = 3
    timer_interval: float = 1.0
