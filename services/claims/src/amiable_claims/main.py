"""The claims service, declared once: everything that runs it derives from ``SERVICE``."""

from __future__ import annotations

from amiable_claims.adapters.portfolio import PortfolioReadModel
from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.adapters.read_model import ClaimsReadModel
from amiable_claims.adapters.reservations import InvoiceReservations
from amiable_claims.adapters.tables import timers
from amiable_claims.api import debtors, imports, portfolio
from amiable_claims.api.claims import router
from amiable_claims.app.handlers import ClaimsHandler
from amiable_claims.app.metrics import KPIS, kpi_reader
from amiable_claims.app.reactions import reactions
from amiable_claims.app.timers import fire
from amiable_claims.domain.decide import DECIDERS
from amiable_claims.domain.state import Policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.catalog import REGISTRY
from amiable_events.service import Parts, Service, TimerDeclaration
from amiable_rules.governing_law import GoverningLaws
from amiable_rules.late_fees import LateFeeRules
from amiable_rules.limitation import LimitationRules


def policy(settings: ClaimsSettings) -> Policy:
    return Policy(
        late_fees=LateFeeRules.load(),
        limitation=LimitationRules.load(),
        governing_laws=GoverningLaws(
            default=settings.default_governing_law, by_tenant=settings.tenant_governing_law
        ),
        allocation=settings.payment_allocation,
        suspend_interest_on_respected_plan=settings.suspend_interest_on_respected_plan,
        installment_grace_days=settings.installment_grace_days,
        promise_grace_days=settings.promise_grace_days,
    )


def wire(parts: Parts) -> dict:
    """The claims application on top of what every service has."""
    read_model = ClaimsReadModel(parts.store, REGISTRY)
    rules = parts.store.projector.policy
    bus = parts.command_bus("claims", DECIDERS, read_model, policy=rules)
    portfolio = PortfolioReadModel(parts.store)
    KPIS.bind(kpi_reader(parts.store, portfolio, parts.clock))
    return {
        "claims": ClaimsHandler(
            bus=bus,
            read_model=read_model,
            reservations=InvoiceReservations(parts.engine),
            sealer=parts.sealer,
            policy=rules,
        ),
        "portfolio": portfolio,
    }


SERVICE = Service(
    name="claims",
    port=8001,
    title="claims",
    summary="Claims intake: register unpaid B2B invoices, record what happens to them "
    "(payments, plans, promises, credit notes), and read the truth about each claim and "
    "the portfolio.",
    settings=ClaimsSettings,
    scopes={
        "claims:read": "read claims, amounts due, timelines and the portfolio",
        "claims:write": "register claims and record what happens to them",
        "debtors:erase": "erase a debtor's personal data (irreversible)",
    },
    projector=lambda settings: ClaimsProjector(policy(settings)),
    reactions=lambda settings: reactions(policy(settings)),
    routers=(router, imports.router, portfolio.router, debtors.router),
    timers=TimerDeclaration(table=timers, fire=fire),
    wire=wire,
)
