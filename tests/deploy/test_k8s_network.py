"""The production deployment's NetworkPolicies, evaluated by a small model of NetworkPolicy
semantics (selectors, namespaces, ipBlocks, named ports; a pod is isolated in a direction once a
policy selects it for that direction, and then only what some policy allows gets through), pod
to pod and port by port: what must get through does, and what must not does not. The pods of
the operators' resources (Kafka, PostgreSQL) are modelled with the labels Strimzi and
CloudNativePG give them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.manifests import NAMESPACE, ROOT_IDS, ROOTS, SERVICES, of_kind, rendered
from tests.deploy.test_k8s_platform import container

roots = pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)


@dataclass(frozen=True)
class Peer:
    """A pod (labels, namespace, named ports) or an address outside the cluster."""

    labels: dict = field(default_factory=dict)
    namespace: str = NAMESPACE
    ports: dict = field(default_factory=dict)
    address: str | None = None


def selected(selector: dict, labels: dict) -> bool:
    if not (selector.get("matchLabels") or {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def peer_matches(rule_peer: dict, other: Peer) -> bool:
    if "ipBlock" in rule_peer:
        if other.address is None:
            return False
        address = ipaddress.ip_address(other.address)
        block = rule_peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(excluded) for excluded in block.get("except", [])
        )
    if other.address is not None:
        return False
    namespaces = rule_peer.get("namespaceSelector")
    if namespaces is None:
        in_namespace = other.namespace == NAMESPACE
    else:
        in_namespace = selected(namespaces, {"kubernetes.io/metadata.name": other.namespace})
    pods = rule_peer.get("podSelector")
    return in_namespace and (pods is None or selected(pods, other.labels))


def port_matches(rule_ports: list[dict] | None, port: int, protocol: str, target: Peer) -> bool:
    if not rule_ports:
        return True
    for rule_port in rule_ports:
        if rule_port.get("protocol", "TCP") != protocol:
            continue
        value = rule_port.get("port")
        if value is None or target.ports.get(value, value) == port:
            return True
        if isinstance(value, int) and value <= port <= rule_port.get("endPort", value):
            return True
    return False


def allowed(policies: list[dict], source: Peer, target: Peer, port: int, protocol="TCP") -> bool:
    """Whether NetworkPolicies in the namespace let ``source`` open ``target``:``port``."""

    def side(pod: Peer, direction: str, other: Peer) -> bool:
        if pod.address is not None or pod.namespace != NAMESPACE:
            return True  # not ours to police
        applying = [
            policy["spec"]
            for policy in policies
            if selected(policy["spec"]["podSelector"], pod.labels)
            and direction in policy["spec"]["policyTypes"]
        ]
        if not applying:
            return True
        key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        return any(
            (not rule.get(peers_key) or any(peer_matches(p, other) for p in rule[peers_key]))
            and port_matches(rule.get("ports"), port, protocol, target)
            for spec in applying
            for rule in spec.get(key) or []
        )

    return side(source, "Egress", target) and side(target, "Ingress", source)


BROKER = Peer(
    {
        "strimzi.io/cluster": "amiable",
        "strimzi.io/kind": "Kafka",
        "strimzi.io/name": "amiable-kafka",
        "strimzi.io/broker-role": "true",
        "strimzi.io/controller-role": "true",
    }
)
ENTITY_OPERATOR = Peer(
    {
        "strimzi.io/cluster": "amiable",
        "strimzi.io/kind": "Kafka",
        "strimzi.io/name": "amiable-entity-operator",
    }
)
POSTGRES = Peer({"cnpg.io/cluster": "amiable-pg", "cnpg.io/podRole": "instance"})
KEYS_POSTGRES = Peer({"cnpg.io/cluster": "amiable-keys-pg", "cnpg.io/podRole": "instance"})
STRANGER = Peer({"app": "debug-shell"})
ELSEWHERE = Peer({"app": "web"}, namespace="default")
INGRESS = Peer({"app.kubernetes.io/name": "ingress-nginx"}, namespace="ingress-nginx")
PROMETHEUS = Peer({"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
COLLECTOR = Peer({"app.kubernetes.io/name": "otel-collector"}, namespace="observability")
DNS = Peer({"k8s-app": "kube-dns"}, namespace="kube-system")
STRIMZI = Peer({"name": "strimzi-cluster-operator"}, namespace="strimzi")
CNPG = Peer({"app.kubernetes.io/name": "cloudnative-pg"}, namespace="cnpg-system")
INTERNET = Peer(address="93.184.216.34")


def service_pods(docs) -> dict[str, Peer]:
    return {
        deployment["metadata"]["name"]: Peer(
            deployment["spec"]["template"]["metadata"]["labels"],
            ports={port["name"]: port["containerPort"] for port in container(deployment)["ports"]},
        )
        for deployment in of_kind(docs, "Deployment")
    }


def first_address(policies: list[dict], name: str, port: int) -> Peer:
    """An address the named policy lets out on ``port`` (the relay's, the gateway's)."""
    (policy,) = [p for p in policies if p["metadata"]["name"] == name]
    for rule in policy["spec"]["egress"]:
        if any(p.get("port") == port for p in rule.get("ports", [])):
            network = ipaddress.ip_network(rule["to"][0]["ipBlock"]["cidr"])
            return Peer(address=str(next(iter(network))))
    raise AssertionError(f"{name} lets nothing out on {port}")


@roots
def test_the_namespace_denies_by_default(root: Path) -> None:
    policies = of_kind(rendered(root), "NetworkPolicy")
    everything = [p["spec"] for p in policies if p["spec"]["podSelector"] == {}]
    assert {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]} in everything
    assert all(not spec.get("ingress") for spec in everything), "a blanket ingress rule"
    assert not allowed(policies, STRANGER, BROKER, 9093)
    assert not allowed(policies, STRANGER, INTERNET, 443)
    assert allowed(policies, STRANGER, DNS, 53, "UDP"), "every pod may look names up"


@roots
def test_services_reach_kafka_postgres_the_collector_and_dns_only(root: Path) -> None:
    docs = rendered(root)
    policies = of_kind(docs, "NetworkPolicy")
    relay = first_address(policies, "communications-egress", 587)
    gateway = first_address(policies, "communications-egress", 443)
    for name, pod in service_pods(docs).items():
        assert allowed(policies, pod, BROKER, 9093), name
        assert allowed(policies, pod, POSTGRES, 5432), name
        assert allowed(policies, pod, KEYS_POSTGRES, 5432), name
        assert allowed(policies, pod, COLLECTOR, 4318), name
        assert allowed(policies, pod, DNS, 53, "UDP") and allowed(policies, pod, DNS, 53), name
        # Not Kafka's internal listeners, not an operator's port, not another service.
        for target, port in [(BROKER, 9091), (BROKER, 9090), (ENTITY_OPERATOR, 9093)]:
            assert not allowed(policies, pod, target, port), (name, target, port)
        assert not allowed(policies, pod, POSTGRES, 8000), name
        assert not allowed(policies, pod, INTERNET, 443), name
        assert not allowed(policies, pod, ELSEWHERE, 80), name
        for other_name, other in service_pods(docs).items():
            assert not allowed(policies, pod, other, other.ports["http"]), (name, other_name)
        # Email and SMS leave from the communications service only.
        sends = name == "communications"
        assert allowed(policies, pod, relay, 587) is sends, name
        assert allowed(policies, pod, gateway, 443) is sends, name


@roots
def test_only_the_ingress_controller_and_prometheus_reach_the_services(root: Path) -> None:
    docs = rendered(root)
    policies = of_kind(docs, "NetworkPolicy")
    for name, pod in service_pods(docs).items():
        port = SERVICES[name].port
        assert allowed(policies, INGRESS, pod, port), name
        assert allowed(policies, PROMETHEUS, pod, port), name
        assert not allowed(policies, INGRESS, pod, port + 1000), name
        for stranger in (STRANGER, ELSEWHERE, BROKER, POSTGRES):
            assert not allowed(policies, stranger, pod, port), (name, stranger)


@roots
def test_kafka_and_postgres_accept_only_the_services_and_their_operators(root: Path) -> None:
    docs = rendered(root)
    policies = of_kind(docs, "NetworkPolicy")
    for stranger in (STRANGER, ELSEWHERE, INGRESS):
        assert not allowed(policies, stranger, BROKER, 9093), stranger
        assert not allowed(policies, stranger, POSTGRES, 5432), stranger
        assert not allowed(policies, stranger, KEYS_POSTGRES, 5432), stranger
    # Brokers replicate among themselves; the operators manage them.
    assert allowed(policies, BROKER, BROKER, 9091) and allowed(policies, BROKER, BROKER, 9090)
    assert allowed(policies, ENTITY_OPERATOR, BROKER, 9091)
    assert allowed(policies, STRIMZI, BROKER, 9091)
    for cluster in (POSTGRES, KEYS_POSTGRES):
        assert allowed(policies, cluster, cluster, 5432), "streaming replication"
        assert allowed(policies, CNPG, cluster, 8000), "the operator's status checks"
        assert not allowed(policies, CNPG, cluster, 5432)
    assert not allowed(policies, POSTGRES, KEYS_POSTGRES, 5432), "the clusters stay apart"
    assert not allowed(policies, BROKER, INTERNET, 443)
