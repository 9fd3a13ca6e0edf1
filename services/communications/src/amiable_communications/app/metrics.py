"""The communications service's compliance metrics: what the contact governor deferred and
suppressed, the opt-outs debtors gave, and how many contacts each debtor had in the last week.

The counters come from the events as the projection applies them live, once
(``amiable_events.metrics.on_live_event``), not from the reactions or the timers that decide
them: those may run again for one decision (a retried batch, a timer re-fired after a crash).
The distribution of contacts is read from the read model when Prometheus scrapes; a debtor is
never a label.
"""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import Counter
from prometheus_client.metrics_core import GaugeHistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from amiable_communications.domain.governor import WEEK_DAYS
from amiable_events.clock import Clock
from amiable_events.communications import (
    CommunicationDeferred,
    CommunicationSuppressed,
    ContactPreferencesSet,
)
from amiable_events.envelope import Envelope
from amiable_events.metrics import ReadModelMetrics, on_live_event
from amiable_events.projection import ProjectionStore

SERVICE = "communications"

DEFERRALS = Counter(
    "amiable_communications_deferrals_total",
    "Messages the contact governor held back, by the rule sending now would break",
    ["rule"],
)
SUPPRESSIONS = Counter(
    "amiable_communications_suppressions_total",
    "Messages that will never be sent, by reason",
    ["reason"],
)
OPT_OUTS = Counter(
    "amiable_communications_opt_outs_total",
    "Contact preferences set with an opt-out: channel 'all' for a whole opt-out, else the "
    "channel refused (a preference set again with the same opt-out counts again)",
    ["channel"],
)

CONTACTS_PER_DEBTOR = "amiable_communications_contacts_per_debtor"
#: Upper bounds of the contacts-per-debtor buckets (the governor's weekly caps are a few).
CONTACT_BUCKETS = (1, 2, 3, 4, 5, 7, 10)

_CONTACTS = """
SELECT tenant, contacts, count(*) AS debtors
FROM (
    SELECT tenant, debtor_id, count(*) AS contacts FROM {schema}.communications
    WHERE released_at > $1 GROUP BY tenant, debtor_id
) AS per_debtor
GROUP BY tenant, contacts
"""


def observe(envelope: Envelope) -> None:
    match envelope.data:
        case CommunicationDeferred(rule=rule):
            DEFERRALS.labels(rule).inc()
        case CommunicationSuppressed(reason=reason):
            SUPPRESSIONS.labels(reason).inc()
        case ContactPreferencesSet(opted_out=whole, opted_out_channels=channels):
            for channel in ("all",) if whole else channels:
                OPT_OUTS.labels(channel).inc()


on_live_event(SERVICE, observe)


def _family() -> GaugeHistogramMetricFamily:
    return GaugeHistogramMetricFamily(
        CONTACTS_PER_DEBTOR,
        "Debtors by the contacts released to them over the last 7 days (the service's clock); "
        "debtors with none are not counted",
        labels=["tenant"],
    )


CONTACTS = ReadModelMetrics([_family()], max_age=60.0)


def contact_buckets(counts: dict[int, int]) -> tuple[list[tuple[str, int]], int]:
    """Cumulative buckets (upper bound, debtors with at most that many contacts) and the sum of
    contacts, from debtors per number of contacts."""
    buckets = [
        (floatToGoString(bound), sum(d for n, d in counts.items() if n <= bound))
        for bound in CONTACT_BUCKETS
    ]
    buckets.append(("+Inf", sum(counts.values())))
    return buckets, sum(n * d for n, d in counts.items())


def contacts_reader(store: ProjectionStore, clock: Clock):
    async def read() -> list[Metric]:
        since = clock.now() - timedelta(days=WEEK_DAYS)
        rows = await store.fetch(_CONTACTS, since)
        by_tenant: dict[str, dict[int, int]] = {}
        for row in rows:
            by_tenant.setdefault(row["tenant"], {})[row["contacts"]] = row["debtors"]
        family = _family()
        for tenant, counts in sorted(by_tenant.items()):
            buckets, total = contact_buckets(counts)
            family.add_metric([tenant], buckets, total)
        return [family]

    return read
