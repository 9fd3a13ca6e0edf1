"""docker-compose.yml checked against the code: its secrets, images, healthchecks and
dependencies, the amiable services and their settings, Kafka and its topics, PostgreSQL and its
databases, the path of traces. `docker compose config` is run when Docker is installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest

from amiable_events.topics import (
    CLAIM_EVENTS_TOPIC,
    PARTITIONS,
    topic_specs,
)
from tests.deploy.manifests import (
    COMPOSE_FILE,
    DATABASES,
    INTERPOLATION,
    REPO,
    SERVICES,
    TEST_ENV,
    amiable_services,
    compose,
    compose_services,
    environment,
    image_tag,
    interpolate,
    is_one_shot,
    load_documents,
    service_port,
)

#: Compose services whose official image is distroless (no shell, no HTTP client): Docker cannot
#: probe them from inside, so they have no healthcheck and are depended on with service_started.
NO_PROBE_TOOLS = {
    "otel-collector": "otel/opentelemetry-collector-contrib is a scratch image",
    "tempo": "grafana/tempo is a distroless image",
}


def test_compose_requires_its_secrets() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    references = INTERPOLATION.findall(text)
    for variable in TEST_ENV:
        uses = [rest for name, rest in references if name == variable]
        assert uses, f"{variable} is not used"
        assert all(rest.startswith(":?") for rest in uses), f"{variable} must be ${{{variable}:?"
    for name, rest in references:
        assert rest.startswith((":?", ":-")), f"${{{name}{rest}}} has neither :? nor :-"
    for variable in TEST_ENV:
        with pytest.raises(KeyError, match=variable):
            interpolate(text, {k: v for k, v in TEST_ENV.items() if k != variable})


def test_compose_images_are_pinned() -> None:
    for name, service in compose_services().items():
        image = service.get("image")
        assert image, f"{name} has no image"
        assert image_tag(image) not in (None, "latest"), f"{name}: pin {image} to a tag"
        if "build" in service:
            build = service["build"]
            assert (REPO / build["context"] / build.get("dockerfile", "Dockerfile")).is_file()


def test_compose_long_running_services_have_healthchecks() -> None:
    for name, service in compose_services().items():
        if is_one_shot(service):
            continue
        if name in NO_PROBE_TOOLS:
            assert "healthcheck" not in service, f"{name}: not in NO_PROBE_TOOLS"
            continue
        test = (service.get("healthcheck") or {}).get("test")
        assert test, f"{name} needs a healthcheck"
        assert not service["healthcheck"].get("disable")


def test_compose_depends_on_waits_on_conditions() -> None:
    services = compose_services()
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on must name conditions"
        for dependency, spec in depends_on.items():
            target = services[dependency]
            condition = (spec or {}).get("condition")
            if is_one_shot(target):
                expected = "service_completed_successfully"
            elif "healthcheck" in target:
                expected = "service_healthy"
            else:
                assert dependency in NO_PROBE_TOOLS, f"{dependency} needs a healthcheck"
                expected = "service_started"
            assert condition == expected, f"{name} -> {dependency}: {condition}, not {expected}"


def test_compose_amiable_services_match_their_settings() -> None:
    services = compose_services()
    amiable = amiable_services()
    assert set(amiable) == set(SERVICES), "one compose service per declared service"
    kafka_env = environment(services["kafka"])
    advertised = dict(
        listener.split("://", 1) for listener in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    for name, service in amiable.items():
        assert service["command"] == ["serve", name]
        assert (REPO / "services" / name).is_dir() and name in SERVICES
        env = environment(service)
        port = service_port(name)
        assert env["AMIABLE_ENV"] == "prod"
        assert env["AMIABLE_HOST"] == "0.0.0.0"
        assert env["AMIABLE_PORT"] == str(port)
        assert f"127.0.0.1:{port}:{port}" in [str(p) for p in service["ports"]]
        assert env["AMIABLE_KAFKA_BOOTSTRAP"] == advertised["PLAINTEXT"]
        assert env["AMIABLE_JWT_SECRET"] == TEST_ENV["AMIABLE_JWT_SECRET"]
        database = urlsplit(env["AMIABLE_DATABASE_URL"])
        assert database.scheme == "postgresql"
        assert database.hostname in services and database.hostname == "postgres"
        assert database.port == 5432 and database.path in ("", "/"), "a server URL, no database"
        assert database.password == TEST_ENV["POSTGRES_PASSWORD"]
        assert database.username == environment(services["postgres"])["POSTGRES_USER"]
        otlp = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert otlp.hostname in services and otlp.port == 4318, "OTLP/HTTP to the collector"
        assert env["OTEL_SERVICE_NAME"] == f"amiable-{name}"
        health = " ".join(service["healthcheck"]["test"])
        assert "/healthz" in health and "urllib" in health
        assert {"kafka", "kafka-init", "postgres"} <= set(service["depends_on"])
        assert service.get("read_only") is True and "ALL" in service.get("cap_drop", [])


def test_compose_kafka_is_one_kraft_node_without_auto_create() -> None:
    env = environment(compose_services()["kafka"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    factors = {k: v for k, v in env.items() if "REPLICATION_FACTOR" in k or "MIN_ISR" in k}
    assert factors and set(factors.values()) == {"1"}


def kafka_init_commands() -> list[list[str]]:
    service = compose_services()["kafka-init"]
    script = "\n".join(service["command"]).replace("\\\n", " ")
    return [shlex.split(line) for line in script.splitlines() if "kafka-topics.sh" in line]


def option(words: list[str], name: str) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == name]


def test_compose_kafka_init_creates_the_log_and_dead_letter_topics() -> None:
    services = compose_services()
    init = services["kafka-init"]
    assert init["image"] == services["kafka"]["image"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    created = {}
    for words in kafka_init_commands():
        assert words[0] == "/opt/kafka/bin/kafka-topics.sh"
        assert option(words, "--bootstrap-server") == ["kafka:9092"]
        if "--create" not in words:
            continue
        assert "--if-not-exists" in words
        (topic,) = option(words, "--topic")
        configs = dict(item.split("=", 1) for item in option(words, "--config"))
        created[topic] = (
            int(option(words, "--partitions")[0]),
            int(option(words, "--replication-factor")[0]),
            configs,
        )
    expected = {spec.name: spec for spec in topic_specs(list(SERVICES))}
    assert set(created) == set(expected)
    for name, spec in expected.items():
        partitions, replication, configs = created[name]
        assert partitions == spec.partitions and replication == 1, name
        assert configs == dict(spec.configs), name
    assert created[CLAIM_EVENTS_TOPIC][0] == PARTITIONS
    assert any("--describe" in words for words in kafka_init_commands()), "partitions unchecked"


def test_compose_postgres_creates_every_database() -> None:
    postgres = compose_services()["postgres"]
    mounts = [volume.split(":") for volume in postgres["volumes"]]
    init = [m for m in mounts if m[1].startswith("/docker-entrypoint-initdb.d/")]
    assert len(init) == 1
    sql = (REPO / init[0][0]).read_text(encoding="utf-8")
    sql = re.sub(r"--[^\n]*", "", sql)
    created = re.findall(r"CREATE DATABASE\s+(\w+)", sql, re.I)
    assert sorted(created) == sorted(DATABASES)
    assert len(created) == len(set(created))
    assert environment(postgres)["POSTGRES_PASSWORD"] == TEST_ENV["POSTGRES_PASSWORD"]


def test_compose_bind_mounts_exist() -> None:
    for name, service in compose_services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose().get("volumes", {}), f"{name}: undeclared {source}"


def test_compose_traces_go_collector_tempo_grafana() -> None:
    services = compose_services()
    mounts = {
        name: {v.split(":")[1]: REPO / v.split(":")[0] for v in s.get("volumes", [])}
        for name, s in services.items()
    }
    collector_file = mounts["otel-collector"]["/etc/otelcol-contrib/config.yaml"]
    assert "/etc/otelcol-contrib/config.yaml" in " ".join(services["otel-collector"]["command"])
    collector = load_documents(collector_file)[0]
    traces = collector["service"]["pipelines"]["traces"]
    assert "otlp" in traces["receivers"]
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http.endswith(":4318"), "the services send OTLP/HTTP to port 4318"
    for processor in traces.get("processors", []):
        assert processor in collector["processors"]
    (exporter,) = traces["exporters"]
    tempo_endpoint = collector["exporters"][exporter]["endpoint"]
    tempo_host, tempo_port = tempo_endpoint.rsplit(":", 1)
    assert tempo_host == "tempo"
    tempo = load_documents(mounts["tempo"]["/etc/tempo.yaml"])[0]
    grpc = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert grpc.endswith(f":{tempo_port}")
    grafana_file = next(
        path for target, path in mounts["grafana"].items() if "provisioning/datasources" in target
    )
    datasources = load_documents(grafana_file)[0]["datasources"]
    (datasource,) = [source for source in datasources if source["type"] == "tempo"]
    url = urlsplit(datasource["url"])
    assert url.hostname == "tempo" and url.port == tempo["server"]["http_listen_port"]


def test_compose_config_when_docker_compose_is_installed() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker is not installed")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    command = [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"]
    base_env = {key: value for key, value in os.environ.items() if key not in TEST_ENV}
    ok = subprocess.run(
        command, env={**base_env, **TEST_ENV}, capture_output=True, text=True, timeout=60
    )
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run(command, env=base_env, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0, "a missing secret must stop compose"
