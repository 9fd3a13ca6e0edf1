"""The recovery KPIs of every tenant as Prometheus gauges, read when Prometheus scrapes.

The figures are the ones ``GET /v1/portfolio/kpis`` and ``GET /v1/portfolio/aged-balance`` give
with their defaults (the 30 days to the service's today; the aged balance today), made by the
same read model and formulas (docs/kpis.md), at most once a minute. Labels: tenant, currency
(amounts and ratios are never mixed across currencies) and, for the aged balance, the bucket.
"""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from amiable_claims.adapters.portfolio import PortfolioReadModel
from amiable_claims.domain import kpis
from amiable_events.clock import Clock
from amiable_events.inputs import EARLIEST
from amiable_events.metrics import ReadModelMetrics
from amiable_events.projection import ProjectionStore

#: The period of the KPIs: the API's default.
PERIOD = timedelta(days=30)

#: name -> (help, the Kpis field).
RATIOS = {
    "amiable_claims_recovery_rate": (
        "Collected on the claims placed in the last 30 days / amount placed (a fraction)",
        "recovery_rate",
    ),
    "amiable_claims_dso_days": ("Days sales outstanding today, countback method", "dso_days"),
    "amiable_claims_dispute_rate": (
        "Claims first disputed in the last 30 days / claims placed in them",
        "dispute_rate",
    ),
    "amiable_claims_cost_of_recovery": (
        "Costs of the messages about the claims collected on in the last 30 days / collected",
        "cost_of_recovery",
    ),
}
AGED_BALANCE = "amiable_claims_aged_balance"
AGED_CLAIMS = "amiable_claims_aged_claims"

_TENANTS = "SELECT DISTINCT tenant FROM {schema}.portfolio_claims ORDER BY tenant"


def _families() -> dict[str, GaugeMetricFamily]:
    families = {
        name: GaugeMetricFamily(name, text, labels=["tenant", "currency"])
        for name, (text, _) in RATIOS.items()
    }
    families[AGED_BALANCE] = GaugeMetricFamily(
        AGED_BALANCE,
        "Open principal today by days past due (current, 1-30, 31-60, 61-90, 90+)",
        labels=["tenant", "currency", "bucket"],
    )
    families[AGED_CLAIMS] = GaugeMetricFamily(
        AGED_CLAIMS,
        "Claims with an open principal today by days past due",
        labels=["tenant", "currency", "bucket"],
    )
    return families


KPIS = ReadModelMetrics(_families().values(), max_age=60.0)


def kpi_families(
    tenant: str,
    figures: list[kpis.Kpis],
    aged: list[kpis.AgedBalance],
    families: dict[str, GaugeMetricFamily],
) -> None:
    """Add one tenant's figures to ``families``; a ratio that is null (nothing placed or
    collected) is left out rather than shown as 0."""
    for k in figures:
        for name, (_, field) in RATIOS.items():
            value = getattr(k, field)
            if value is not None:
                families[name].add_metric([tenant, k.currency], float(value))
    for balance in aged:
        for bucket in balance.buckets:
            labels = [tenant, balance.currency, bucket.label]
            families[AGED_BALANCE].add_metric(labels, float(bucket.amount))
            families[AGED_CLAIMS].add_metric(labels, bucket.count)


def kpi_reader(store: ProjectionStore, portfolio: PortfolioReadModel, clock: Clock):
    async def read() -> list[Metric]:
        today = clock.now().date()
        start = max(today - PERIOD, EARLIEST)
        families = _families()
        for row in await store.fetch(_TENANTS):
            tenant = row["tenant"]
            figures = await portfolio.period_kpis(tenant, start, today)
            aged = await portfolio.aged_balances(tenant, today)
            kpi_families(tenant, figures, aged, families)
        return list(families.values())

    return read
