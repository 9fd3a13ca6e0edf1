"""The production deployment's Kafka, PostgreSQL, network and pod security, held to the code.

- Kafka (Strimzi): KRaft on three nodes, the topics of `amiable_events.topics`, one listener
  (TLS + SCRAM-SHA-512, `authorization: simple`), and one KafkaUser per declared service whose
  ACLs allow what that service does and nothing else; each Deployment authenticates as its user.
- PostgreSQL (CloudNativePG): one role per service owning its database only (pg_hba lets it log in
  to no other), the key store in a cluster of its own with its own role, URLs that verify the
  server (`sslmode=verify-full` against the mounted CA), backups with the key store's retention
  shorter than the services'.
- NetworkPolicies: in test_k8s_network.py.
- Pod security: the namespace enforces the `restricted` standard and every pod meets it.
"""

from __future__ import annotations

import re
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
from tests.deploy.manifests import (
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
#: The labels of the amiable services' pods, which the policies let reach Kafka and PostgreSQL.
SERVICE_SELECTOR = {
    "app.kubernetes.io/component": "service",
    "app.kubernetes.io/part-of": "amiable",
}


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
