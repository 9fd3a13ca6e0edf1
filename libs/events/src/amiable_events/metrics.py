"""The metrics every service exports on ``/metrics``: the kit's (projection, timers, HTTP), the
hooks a service's own metrics use, and the exposition.

Counters count what happened once: an event is counted when the live runner applies it past
the reaction horizon (a rebuild, or the replay into a new projection shape, applies the log
again and counts nothing), a timer when its event is appended, a request when it is answered.
Labels are bounded: a service, a partition, an event type, a route *template* (never a raw
path: no ids), a method, a status. docs/observability.md lists every metric.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from amiable_events.envelope import Envelope

log = logging.getLogger(__name__)

EVENTS_APPLIED = Counter(
    "amiable_events_applied_total",
    "Events applied live to the projection (replays not counted), by CloudEvents type",
    ["service", "type"],
)
DEAD_LETTERS = Counter(
    "amiable_dead_letters_total", "Records sent to the dead-letter topic", ["service"]
)
PARKED_ACCOUNTS = Gauge(
    "amiable_parked_accounts", "Debtor accounts parked after an apply failure", ["service"]
)
CONSUMER_LAG = Gauge(
    "amiable_consumer_lag",
    "Records of a claim-log partition this replica holds and has not applied yet: the "
    "partition's last stable offset minus the projection's position",
    ["service", "partition"],
)
TIMERS_DUE = Gauge(
    "amiable_timers_due",
    "Pending timers past their due time, outside parked accounts, not yet fired",
    ["service"],
)
TIMERS_FIRED = Counter(
    "amiable_timers_fired_total",
    "Timer events appended to the log (a re-append after a crash counts again)",
    ["service"],
)
TIMER_TICKS = Counter("amiable_timer_ticks_total", "Passes of the timer loop", ["service"])
HTTP_REQUESTS = Counter(
    "amiable_http_requests_total",
    "HTTP requests answered, by route template, method and status",
    ["service", "route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "amiable_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template; exemplars carry the trace id",
    ["service", "route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

#: The route label of a request no route matched (a 404): one label, whatever the path.
UNMATCHED = "unmatched"
#: The methods a label names; any other a client sends is "OTHER" (it chooses the method too).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: service -> what it counts from each event it applies live (its own metrics).
_live_observers: dict[str, list[Callable[[Envelope], None]]] = {}


def on_live_event(service: str, observe: Callable[[Envelope], None]) -> None:
    """Have ``observe`` called with each event ``service``'s runner applies live, once: the
    place for a counter derived from the log (a deferral, an opt-out) that must not count again
    when the projection is rebuilt."""
    _live_observers.setdefault(service, []).append(observe)


def count_applied(service: str, applied: Sequence[Envelope], horizon: dict[int, int]) -> None:
    """Count the events of a committed batch, those at or past ``horizon`` (partition -> the
    first offset applied live; below it the runner replays what an earlier schema applied)."""
    live = [e for e in applied if e.offset >= horizon.get(e.partition, 0)]
    for kind, times in Tally(e.type for e in live).items():
        EVENTS_APPLIED.labels(service, kind).inc(times)
    for observe in _live_observers.get(service, ()):
        for envelope in live:
            observe(envelope)


def set_lag(service: str, lags: dict[int, int]) -> None:
    """Each held partition's lag; the partitions no longer held lose their series."""
    held = _lag_children.setdefault(service, {})
    for partition, lag in lags.items():
        child = held.get(partition)
        if child is None:
            child = held[partition] = CONSUMER_LAG.labels(service, str(partition))
        child.set(lag)
    for partition in [p for p in held if p not in lags]:
        del held[partition]
        CONSUMER_LAG.remove(service, str(partition))


#: service -> partition -> its lag series: set after every fetch, looked up once.
_lag_children: dict[str, dict[int, Any]] = {}


class HttpMetrics:
    """ASGI middleware counting and timing every request by route template.

    The template is the one the router matched (``/v1/claims/{claim_id}``), read from the
    scope after the app answered; a path no route matches is :data:`UNMATCHED`, so a scan of
    random paths adds no series. Added inside the tracing middleware, the request's span is
    current here and its trace id becomes the duration's exemplar.
    """

    def __init__(self, app, service: str) -> None:
        self.app = app
        self.service = service
        # (route, method, status) -> its two series, looked up once: bounded like the labels.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        # Read now: the tracing middleware may end the request's span as the answer goes out.
        exemplar = _trace_exemplar()

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            key = (route, method, status)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = (
                    HTTP_REQUESTS.labels(self.service, route, method, str(status)),
                    HTTP_DURATION.labels(self.service, route, method),
                )
            series[0].inc()
            series[1].observe(time.perf_counter() - started, exemplar)


def _trace_exemplar() -> dict[str, str] | None:
    span = trace.get_current_span()
    if not span.is_recording():
        return None
    context = span.get_span_context()
    return {"trace_id": format(context.trace_id, "032x")}


class ReadModelMetrics(Collector):
    """Gauges a service reads from its read model when Prometheus scrapes (KPIs, distributions),
    rather than keeps up to date on every event.

    Declared at import with the empty families it yields (so the registry knows their names),
    bound to a reader once the service runs. ``/metrics`` awaits :func:`refresh` before
    writing the page: the reader runs at most every ``max_age`` seconds, within ``timeout``;
    when it fails the families are left out (a stale KPI would read as current).
    """

    def __init__(self, describe: Iterable[Metric], *, max_age: float = 15.0, timeout: float = 5.0):
        self._describe = list(describe)
        self._read: Callable[[], Awaitable[list[Metric]]] | None = None
        self._families: list[Metric] = []
        self._read_at = 0.0
        self._max_age = max_age
        self._timeout = timeout
        self._lock = asyncio.Lock()
        REGISTRY.register(self)
        _read_models.append(self)

    def bind(self, read: Callable[[], Awaitable[list[Metric]]]) -> None:
        self._read = read
        self._families = []
        self._read_at = 0.0

    async def refresh(self) -> None:
        if self._read is None:
            return
        async with self._lock:
            if time.monotonic() - self._read_at < self._max_age:
                return
            try:
                self._families = await asyncio.wait_for(self._read(), self._timeout)
            except Exception as exc:
                log.warning("metrics from the read model failed: %r", exc)
                self._families = []
            self._read_at = time.monotonic()

    def describe(self) -> list[Metric]:
        return self._describe

    def collect(self) -> list[Metric]:
        return self._families


_read_models: list[ReadModelMetrics] = []


async def exposition(accept: str | None) -> tuple[bytes, str]:
    """The registry in the format the scraper asks for (OpenMetrics carries exemplars), with
    the read models' gauges refreshed."""
    await asyncio.gather(*(collector.refresh() for collector in _read_models))
    encode, content_type = choose_encoder(accept or "")
    return encode(REGISTRY), content_type
