"""The production deployment's Kafka, PostgreSQL, network and pod security, held to the code.

- Kafka (Strimzi): KRaft on three nodes, the topics of `amiable_events.topics`, one listener
  (TLS + SCRAM-SHA-512, `authorization: simple`), and one KafkaUser per declared service whose
  ACLs allow what that service does and nothing else; each Deployment authenticates as its user.
- PostgreSQL (CloudNativePG): one role per service owning its database only (pg_hba lets it log in
  to no other), the key store in a cluster of its own with its own role, URLs that verify the
  server (`sslmode=verify-full` against the mounted CA), backups with the key store's retention
  shorter than the services'.
- NetworkPolicies: evaluated by a small model of NetworkPolicy semantics, pod to pod and port by
  port: what must get through does, and what must not does not.
- Pod security: the namespace enforces the `restricted` standard and every pod meets it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import TypeAdapter

from amiable_events.service import KEYS_DATABASE
from amiable_events.topics import (
    CLAIM_EVENTS_CONFIGS,
    CLAIM_EVENTS_TOPIC,
    DLQ_CONFIGS,
    DLQ_PARTITIONS,
    PARTITIONS,
    dlq_topic,
    topic_specs,
)
from tests.deploy.test_deploy import (
    CONFIG_MAP,
    DATABASES,
    KAFKA_MIN_INSYNC,
    KAFKA_REPLICAS,
    NAMESPACE,
    REPO,
    ROOT_IDS,
    ROOTS,
    SERVICES,
    of_kind,
    one,
    rendered,
)

roots = pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)


def container(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def env_of(deployment: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container(deployment).get("env") or []}


def mounted_file(deployment: dict, path: str) -> tuple[str, str]:
    """The (Secret, key) that the file at ``path`` of the container comes from."""
    pod = deployment["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for mount in container(deployment)["volumeMounts"]:
        folder = mount["mountPath"].rstrip("/") + "/"
        if not path.startswith(folder):
            continue
        name = path[len(folder) :]
        volume = volumes[mount["name"]]
        sources = [s["secret"] for s in volume.get("projected", {}).get("sources", [])]
        if "secret" in volume:
            sources.append({"name": volume["secret"]["secretName"], **volume["secret"]})
        for secret in sources:
            for item in secret.get("items", []):
                if item["path"] == name:
                    return secret["name"], item["key"]
    raise AssertionError(f"{deployment['metadata']['name']}: nothing mounted at {path}")


# ------------------------------------------------------------------------------------------------
# Kafka


@roots
def test_kafka_cluster_is_kraft_with_three_replicas(root: Path) -> None:
    docs = rendered(root)
    kafka = one(docs, "Kafka")
    cluster = kafka["metadata"]["name"]
    pools = [
        pool
        for pool in of_kind(docs, "KafkaNodePool")
        if pool["metadata"]["labels"].get("strimzi.io/cluster") == cluster
    ]
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    assert brokers == KAFKA_REPLICAS
    assert controllers >= 3 and controllers % 2 == 1, "a KRaft quorum needs an odd count >= 3"
    config = kafka["spec"]["kafka"]["config"]
    assert config["min.insync.replicas"] == KAFKA_MIN_INSYNC
    assert config["default.replication.factor"] == KAFKA_REPLICAS
    assert config["offsets.topic.replication.factor"] == KAFKA_REPLICAS
    assert config["auto.create.topics.enable"] is False
    assert "topicOperator" in kafka["spec"]["entityOperator"]


@roots
def test_kafka_topics_match_amiable_events_topics(root: Path) -> None:
    docs = rendered(root)
    cluster = one(docs, "Kafka")["metadata"]["name"]
    topics = {
        topic["spec"].get("topicName", topic["metadata"]["name"]): topic
        for topic in of_kind(docs, "KafkaTopic")
    }
    expected = {spec.name: spec for spec in topic_specs(list(SERVICES))}
    assert set(topics) == set(expected)
    for name, spec in expected.items():
        topic = topics[name]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == cluster
        assert topic["spec"]["partitions"] == spec.partitions, name
        assert topic["spec"]["replicas"] == KAFKA_REPLICAS, name
        config = {key: str(value) for key, value in topic["spec"]["config"].items()}
        assert config.items() >= dict(spec.configs).items(), name
        assert int(config.get("min.insync.replicas", KAFKA_MIN_INSYNC)) < KAFKA_REPLICAS
    log = topics[CLAIM_EVENTS_TOPIC]
    assert log["spec"]["partitions"] == PARTITIONS == 12
    assert str(log["spec"]["config"]["retention.ms"]) == CLAIM_EVENTS_CONFIGS["retention.ms"]
    assert str(log["spec"]["config"]["retention.ms"]) == "-1"
    for service in SERVICES:
        dlq = topics[dlq_topic(service)]
        assert dlq["spec"]["partitions"] == DLQ_PARTITIONS
        assert {k: str(v) for k, v in dlq["spec"]["config"].items()}.items() >= DLQ_CONFIGS.items()


@roots
def test_kafka_takes_only_tls_with_scram_and_checks_acls(root: Path) -> None:
    docs = rendered(root)
    kafka = one(docs, "Kafka")["spec"]
    for listener in kafka["kafka"]["listeners"]:
        assert listener["tls"] is True, f"listener {listener['name']} is plaintext"
        assert listener["authentication"]["type"] == "scram-sha-512", listener["name"]
        (peer,) = listener["networkPolicyPeers"]
        assert peer["podSelector"]["matchLabels"] == SERVICE_SELECTOR, "only the services"
    assert kafka["kafka"]["authorization"]["type"] == "simple"
    assert not kafka["kafka"]["authorization"].get("superUsers")
    assert "userOperator" in kafka["entityOperator"], "KafkaUsers need the user operator"


@roots
def test_the_services_connect_to_the_tls_listener_as_configured(root: Path) -> None:
    docs = rendered(root)
    kafka = one(docs, "Kafka")
    data = one(docs, "ConfigMap", CONFIG_MAP)["data"]
    assert data["AMIABLE_ENV"] == "prod"
    assert data["AMIABLE_HOST"] == "0.0.0.0"
    assert not {"AMIABLE_JWT_SECRET", "AMIABLE_DATABASE_URL"} & set(data), "secrets in a ConfigMap"
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert data["AMIABLE_KAFKA_BOOTSTRAP"] == (
        f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    )
    assert data["AMIABLE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert data["AMIABLE_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    # The values are ones the settings accept (a typo would fail the services' start).
    fields = SERVICES["claims"].settings.model_fields
    for name in ("kafka_security_protocol", "kafka_sasl_mechanism"):
        TypeAdapter(fields[name].annotation).validate_python(data[f"AMIABLE_{name.upper()}"])
    for deployment in of_kind(docs, "Deployment"):
        secret = mounted_file(deployment, data["AMIABLE_KAFKA_SSL_CAFILE"])
        assert secret == (f"{kafka['metadata']['name']}-cluster-ca-cert", "ca.crt")


def consumer_group(service: str) -> str:
    """The group the service's replicas share: AMIABLE_CONSUMER_GROUP, else amiable-<service>
    (amiable_events.projection.ProjectionRunner)."""
    return SERVICES[service].settings.model_fields["consumer_group"].default or f"amiable-{service}"


def expected_acls(service: str) -> set[tuple[str, str, frozenset[str]]]:
    return {
        ("topic", CLAIM_EVENTS_TOPIC, frozenset({"Describe", "Read", "Write"})),
        ("topic", dlq_topic(service), frozenset({"Describe", "Write"})),
        ("group", consumer_group(service), frozenset({"Describe", "Read"})),
    }


@roots
def test_each_service_has_a_kafka_user_allowed_only_what_it_does(root: Path) -> None:
    docs = rendered(root)
    cluster = one(docs, "Kafka")["metadata"]["name"]
    users = {user["metadata"]["name"]: user for user in of_kind(docs, "KafkaUser")}
    assert set(users) == {f"amiable-{service}" for service in SERVICES}
    for service in SERVICES:
        user = users[f"amiable-{service}"]
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == cluster
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        authorization = user["spec"]["authorization"]
        assert authorization["type"] == "simple"
        acls = set()
        for acl in authorization["acls"]:
            resource = acl["resource"]
            # A prefix or a wildcard would reach the other services' dead letters.
            assert resource.get("patternType", "literal") == "literal", acl
            assert acl.get("type", "allow") == "allow" and acl.get("host", "*") == "*"
            acls.add((resource["type"], resource["name"], frozenset(acl["operations"])))
        assert acls == expected_acls(service), service


@roots
def test_each_deployment_authenticates_as_its_own_kafka_user(root: Path) -> None:
    docs = rendered(root)
    users = {user["metadata"]["name"] for user in of_kind(docs, "KafkaUser")}
    for deployment in of_kind(docs, "Deployment"):
        env = env_of(deployment)
        username = env["AMIABLE_KAFKA_SASL_USERNAME"]["value"]
        assert username == f"amiable-{deployment['metadata']['name']}" and username in users
        # The user operator keeps the user's password in a Secret of the user's name.
        reference = env["AMIABLE_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": username, "key": "password"}


# ------------------------------------------------------------------------------------------------
# PostgreSQL


def clusters(docs) -> dict[str, dict]:
    return {cluster["metadata"]["name"]: cluster for cluster in of_kind(docs, "Cluster")}


def databases(docs) -> dict[str, dict]:
    return {database["spec"]["name"]: database["spec"] for database in of_kind(docs, "Database")}


@roots
def test_every_database_is_owned_by_its_own_role(root: Path) -> None:
    docs = rendered(root)
    found = databases(docs)
    assert set(found) == set(DATABASES)
    for name, spec in found.items():
        assert spec["owner"] == name, f"{name} must be owned by the role {name}"
        assert spec["ensure"] == "present" and spec["databaseReclaimPolicy"] == "retain"
    # The key store is a cluster of its own (its backups, their retention); the services share one.
    assert found[KEYS_DATABASE]["cluster"]["name"] == "amiable-keys-pg"
    assert {found[SERVICES[s].database]["cluster"]["name"] for s in SERVICES} == {"amiable-pg"}
    for name, cluster in clusters(docs).items():
        assert cluster["spec"]["instances"] == 3
        owners = {spec["owner"] for spec in found.values() if spec["cluster"]["name"] == name}
        roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
        assert set(roles) == owners, f"{name}: one managed role per database owner"
        for role in roles.values():
            assert role["login"] is True and role["ensure"] == "present"
            assert not role.get("superuser") and not role.get("createdb"), role["name"]
            assert role["passwordSecret"]["name"], role["name"]
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        assert initdb["owner"] in owners and initdb["database"] == initdb["owner"]
        assert initdb["secret"] == roles[initdb["owner"]]["passwordSecret"]


def hba_method(rules: list[str], database: str, role: str, tls: bool) -> str | None:
    """The method of the first pg_hba rule matching a TCP connection (None: no rule matches,
    which CloudNativePG's own last rule would then answer with a password check)."""
    for rule in rules:
        kind, rule_database, rule_user, _address, method = rule.split()
        if (kind == "hostssl" and not tls) or (kind == "hostnossl" and tls):
            continue
        if rule_database not in ("all", database) and database not in rule_database.split(","):
            continue
        if rule_user != "all" and role not in rule_user.split(","):
            continue
        return method
    return None


@roots
def test_each_role_logs_in_over_tls_to_its_own_database_only(root: Path) -> None:
    docs = rendered(root)
    found = databases(docs)
    for name, cluster in clusters(docs).items():
        rules = cluster["spec"]["postgresql"]["pg_hba"]
        roles = [role["name"] for role in cluster["spec"]["managed"]["roles"]]
        assert roles, name
        for role in roles:
            for database in [*found, "postgres", "template1"]:
                own = database == role and found[database]["cluster"]["name"] == name
                expected = "scram-sha-256" if own else "reject"
                assert hba_method(rules, database, role, tls=True) == expected, (role, database)
                assert hba_method(rules, database, role, tls=False) == "reject", (role, database)


@roots
def test_database_urls_verify_the_server_and_use_the_services_role(root: Path) -> None:
    docs = rendered(root)
    found = databases(docs)
    role_secrets = {
        role["name"]: role["passwordSecret"]["name"]
        for cluster in clusters(docs).values()
        for role in cluster["spec"]["managed"]["roles"]
    }
    for deployment in of_kind(docs, "Deployment"):
        service = deployment["metadata"]["name"]
        env = env_of(deployment)
        own = SERVICES[service].database
        for variable, database, with_path in (
            ("AMIABLE_DATABASE_URL", own, False),
            ("AMIABLE_KEYS_DATABASE_URL", KEYS_DATABASE, True),
        ):
            url = urlsplit(env[variable]["value"])
            cluster = found[database]["cluster"]["name"]
            where = f"{service} {variable}"
            assert url.scheme == "postgresql" and url.hostname == f"{cluster}-rw", where
            assert url.port == 5432 and url.username == found[database]["owner"], where
            # A server URL, to which the service adds its database; the key store's names it.
            assert url.path == (f"/{database}" if with_path else ""), where
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            assert query["sslmode"] == "verify-full", where
            assert mounted_file(deployment, query["sslrootcert"]) == (f"{cluster}-ca", "ca.crt")
            (password,) = re.findall(r"^\$\((\w+)\)$", url.password or "")
            reference = env[password]["valueFrom"]["secretKeyRef"]
            assert reference == {"name": role_secrets[url.username], "key": "password"}, where
        kek = env["AMIABLE_KEY_ENCRYPTION_KEY"]["valueFrom"]["secretKeyRef"]
        assert kek["name"] == "amiable-key-encryption-key", "the KEK in a Secret of its own"
        # During a rotation the old KEK sits beside the new one; otherwise it is absent.
        old = env["AMIABLE_OLD_KEY_ENCRYPTION_KEY"]["valueFrom"]["secretKeyRef"]
        assert old == {**kek, "key": "AMIABLE_OLD_KEY_ENCRYPTION_KEY", "optional": True}


def days(retention: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([dwm])", retention).groups()
    return int(number) * {"d": 1, "w": 7, "m": 30}[unit]


@roots
def test_both_clusters_are_backed_up_and_the_keys_kept_the_shorter_time(root: Path) -> None:
    docs = rendered(root)
    found = clusters(docs)
    scheduled = {
        backup["spec"]["cluster"]["name"]: backup["spec"]
        for backup in of_kind(docs, "ScheduledBackup")
    }
    assert set(scheduled) == set(found), "a ScheduledBackup per cluster"
    for name, cluster in found.items():
        backup = cluster["spec"]["backup"]
        store = backup["barmanObjectStore"]
        assert store["destinationPath"].endswith(f"/{name}"), "one path per cluster"
        assert store["wal"]["encryption"] and store["data"]["encryption"]
        assert scheduled[name]["method"] == "barmanObjectStore"
        assert len(scheduled[name]["schedule"].split()) == 6, "CloudNativePG's cron has seconds"
    keys = days(found["amiable-keys-pg"]["spec"]["backup"]["retentionPolicy"])
    services = days(found["amiable-pg"]["spec"]["backup"]["retentionPolicy"])
    assert keys < services, "an erased debtor's key must leave the backups first"
    guide = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "crypto-shredding" in guide
    for cluster in found.values():
        retention = cluster["spec"]["backup"]["retentionPolicy"]
        assert f"`{retention}`" in guide, f"docs/deploy.md does not state the {retention}"


# ------------------------------------------------------------------------------------------------
# NetworkPolicies

SERVICE_SELECTOR = {
    "app.kubernetes.io/component": "service",
    "app.kubernetes.io/part-of": "amiable",
}


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


# ------------------------------------------------------------------------------------------------
# Pod Security Standard "restricted"

#: Volume types the restricted standard allows.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(name: str, pod: dict) -> list[str]:
    """What the `restricted` Pod Security Standard (and so the namespace) refuses in ``pod``."""
    problems = []
    security = pod.get("securityContext") or {}
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(host):
            problems.append(f"{name}: {host}")
    for volume in pod.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            problems.append(f"{name}: volume {volume['name']} is {sorted(kinds)}")
    for each in [*pod.get("initContainers", []), *pod["containers"]]:
        where = f"{name}/{each['name']}"
        context = each.get("securityContext") or {}

        def setting(key, context=context):
            return context.get(key, security.get(key))

        if context.get("privileged"):
            problems.append(f"{where}: privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation must be false")
        if setting("runAsNonRoot") is not True or setting("runAsUser") == 0:
            problems.append(f"{where}: must run as non-root")
        if (setting("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{where}: seccompProfile must be RuntimeDefault or Localhost")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{where}: capabilities must drop ALL")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{where}: adds {capabilities['add']}")
        if any(port.get("hostPort") for port in each.get("ports", [])):
            problems.append(f"{where}: hostPort")
    return problems


@roots
def test_the_namespace_enforces_restricted_and_every_pod_meets_it(root: Path) -> None:
    docs = rendered(root)
    labels = one(docs, "Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    problems = [
        problem
        for doc in docs
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")
        for problem in restricted_violations(
            doc["metadata"]["name"], doc["spec"]["template"]["spec"]
        )
    ]
    assert not problems, "\n".join(problems)
    assert restricted_violations("probe", {"containers": [{"name": "root"}]}), "checks nothing"
