"""Prometheus and the Grafana dashboards of docker compose, held to what the services export.

The exported metric names are read from prometheus_client's registry after importing every
declared service's modules (its declaration, application, adapters and API), so a dashboard
naming a metric nobody exports, or one renamed since, fails here. Offline and fast.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from amiable_events.service import declared

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "compose"
DASHBOARDS = COMPOSE / "grafana" / "dashboards"
PROMETHEUS = COMPOSE / "prometheus.yml"

#: The dashboards issue 13 asks for, by uid.
EXPECTED = {
    "amiable-claim-flow": "Claim flow",
    "amiable-recovery": "Recovery",
    "amiable-compliance": "Compliance",
}

#: PromQL words that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
KEYWORDS |= {"and", "or", "unless", "inf", "nan"}


def exported_metrics() -> set[str]:
    """Every sample name the services can export: each metric's name with its suffixes
    (``_total``, ``_bucket``, ``_sum``, ``_count``, ``_gcount``...), as the registry keeps them."""
    for name in declared():
        package = importlib.import_module(f"amiable_{name}")
        importlib.import_module(f"amiable_{name}.main")
        for layer in ("app", "adapters", "api"):
            try:
                module = importlib.import_module(f"{package.__name__}.{layer}")
            except ModuleNotFoundError:
                continue
            for info in pkgutil.iter_modules(module.__path__):
                importlib.import_module(f"{module.__name__}.{info.name}")
    # The registry has no public listing of the names it holds.
    return set(REGISTRY._names_to_collectors)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (grouping labels, label matchers, ranges,
    strings, numbers and function names left out)."""
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # ranges
    expr = re.sub(r'"[^"]*"', " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word = match.group()
        rest = expr[match.end() :].lstrip()
        if rest.startswith("(") or word.lower() in KEYWORDS:
            continue  # a function or an aggregation
        names.add(word)
    return names


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(board: dict) -> list[dict]:
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found += panel.get("panels", [])
    return [panel for panel in found if panel["type"] != "row"]


def queries(board: dict) -> list[tuple[str, str]]:
    """(where, expression) of every panel target and template variable."""
    found = [
        (f"{board['uid']} / {panel['title']}", target["expr"])
        for panel in panels(board)
        for target in panel["targets"]
    ]
    for variable in board.get("templating", {}).get("list", []):
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        inner = re.fullmatch(r"label_values\((.+),\s*\w+\)", text)
        assert inner, f"{board['uid']}: variable {variable['name']} is not label_values(...)"
        found.append((f"{board['uid']} / ${variable['name']}", inner.group(1)))
    return found


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_the_expression_parser_finds_metric_names_only() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, service) (rate(a_seconds_bucket{status=~"5.."}'
        "[$__rate_interval]))) / on (service) group_left b_total * 3600 > bool 1"
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total"}


def test_the_three_dashboards_exist_parse_and_are_named() -> None:
    boards = dashboards()
    uids = [board.get("uid") for board in boards.values()]
    assert len(set(uids)) == len(uids), "dashboard uids must be unique"
    assert set(EXPECTED) <= set(uids)
    for name, board in boards.items():
        assert board.get("title"), f"{name} has no title"
        assert panels(board), f"{name} has no panel"
        if board["uid"] in EXPECTED:
            assert board["title"].endswith(EXPECTED[board["uid"]])


def test_every_panel_reads_prometheus_with_a_query() -> None:
    sources = yaml.safe_load((COMPOSE / "grafana-datasources.yaml").read_text())["datasources"]
    prometheus_uids = {source["uid"] for source in sources if source["type"] == "prometheus"}
    for board in dashboards().values():
        for panel in panels(board):
            assert panel["datasource"]["uid"] in prometheus_uids, panel["title"]
            assert panel["targets"], f"{board['uid']} / {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["expr"].strip(), f"{board['uid']} / {panel['title']}"


@pytest.mark.parametrize("name", sorted(dashboards()))
def test_every_query_names_only_exported_metrics(name: str) -> None:
    exported = exported_metrics()
    for where, expr in queries(dashboards()[name]):
        names = metric_names(expr)
        assert names, f"{where}: no metric in {expr!r}"
        unknown = names - exported
        assert not unknown, f"{where}: {sorted(unknown)} are not exported by any service"


def test_the_claim_flow_dashboard_shows_exemplars_on_http_durations() -> None:
    [board] = [b for b in dashboards().values() if b["uid"] == "amiable-claim-flow"]
    with_exemplars = [
        target["expr"]
        for panel in panels(board)
        for target in panel["targets"]
        if target.get("exemplar")
    ]
    assert any("amiable_http_request_duration_seconds_bucket" in e for e in with_exemplars)


def test_prometheus_scrapes_every_declared_service_at_its_port() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "amiable"]
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert sorted(targets) == sorted(f"{name}:{s.port}" for name, s in declared().items())
    assert job.get("metrics_path", "/metrics") == "/metrics"
    # exemplars travel in OpenMetrics only
    assert job["scrape_protocols"][0].startswith("OpenMetricsText")
    services = compose()["services"]
    assert set(declared()) <= set(services)


def test_compose_runs_prometheus_with_its_config_and_exemplar_storage() -> None:
    services = compose()["services"]
    prometheus = services["prometheus"]
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    assert mounts["./deploy/compose/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert "--enable-feature=exemplar-storage" in prometheus["command"]
    assert prometheus["image"].startswith("prom/prometheus:v")


def test_grafana_provisions_both_data_sources_and_the_dashboards_folder() -> None:
    grafana = compose()["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    provider_file = next(
        REPO / source for source, target in mounts.items() if "provisioning/dashboards" in target
    )
    [provider] = yaml.safe_load(provider_file.read_text())["providers"]
    assert mounts["./deploy/compose/grafana/dashboards"] == provider["options"]["path"]
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"

    sources = yaml.safe_load((COMPOSE / "grafana-datasources.yaml").read_text())["datasources"]
    by_type = {source["type"]: source for source in sources}
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    [link] = by_type["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert link == {"name": "trace_id", "datasourceUid": by_type["tempo"]["uid"]}
