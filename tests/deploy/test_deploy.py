"""The Kubernetes manifests and the Dockerfile checked against the code.

No Docker engine or cluster is needed: the files are parsed and held to what the code says (the
topic layout of `amiable_events.topics`, and the services as declared, `declared()`: each one's
name, port and database). Every declared service must be deployed and nothing else: adding a
service means adding its compose block, its k8s folder, its database and its dead-letter topic.
The manifests are rendered by tests/deploy/manifests.py; when `kustomize` or `kubectl` is
installed, its output must match. Fast and offline. The compose file: test_compose.py; Kafka,
PostgreSQL and pod security: test_k8s_platform.py; NetworkPolicies: test_k8s_network.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from amiable_events.service import ENTRY_POINT_GROUP
from amiable_events.topics import (
    PARTITIONS,
)
from tests.deploy.manifests import (
    APP_UID,
    CLUSTER_SCOPED,
    CONFIG_MAP,
    DOCKERFILE,
    K8S,
    NAMESPACE,
    REPO,
    ROOT_IDS,
    ROOTS,
    SECRET,
    SERVICES,
    image_tag,
    kustomization_dirs,
    kustomization_file,
    load_documents,
    of_kind,
    one,
    rel,
    rendered,
    service_port,
    yaml_files,
)

# ------------------------------------------------------------------------------------------------
# every file parses; every kustomization path exists


@pytest.mark.parametrize("path", yaml_files(), ids=rel)
def test_yaml_file_parses(path: Path) -> None:
    docs = load_documents(path)
    assert docs, f"{rel(path)} is empty"
    assert all(isinstance(doc, dict | list) for doc in docs)


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=rel)
def test_kustomization_paths_exist(directory: Path) -> None:
    path = kustomization_file(directory)
    kustomization = load_documents(path)[0]
    entries = [
        *(kustomization.get("resources") or []),
        *(kustomization.get("components") or []),
        *(patch["path"] for patch in kustomization.get("patches") or [] if "path" in patch),
        *(kustomization.get("patchesStrategicMerge") or []),
        *(patch["path"] for patch in kustomization.get("patchesJson6902") or []),
    ]
    for entry in entries:
        assert (directory / entry).exists(), f"{rel(path)} names {entry}, which does not exist"
    for entry in kustomization.get("components") or []:
        component = load_documents(kustomization_file(directory / entry))[0]
        assert component["kind"] == "Component", f"{entry} is not a kustomize Component"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_render_resolves_and_is_namespaced(root: Path) -> None:
    docs = rendered(root)
    ids = [(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(ids) == len(set(ids)), f"duplicate resources in {rel(root)}"
    for doc in docs:
        if doc["kind"] not in CLUSTER_SCOPED:
            assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]
    assert of_kind(docs, "Deployment"), f"{rel(root)} has no Deployment"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_no_secret_values_are_committed(root: Path) -> None:
    assert not of_kind(rendered(root), "Secret"), "Secrets are created out of band"
    example = K8S / "base" / "secret.example.yaml"
    assert example.is_file()
    secret = one(load_documents(example), "Secret", SECRET)
    assert set(secret["stringData"]) >= {"AMIABLE_JWT_SECRET"}
    for directory in kustomization_dirs():
        kustomization = load_documents(kustomization_file(directory))[0]
        for entry in kustomization.get("resources") or []:
            assert (directory / entry).resolve() != example.resolve(), (
                f"{rel(directory)} deploys the example Secret"
            )


# ------------------------------------------------------------------------------------------------
# Deployments


def deployment_problems(deployment: dict) -> Iterator[str]:
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    pod_security = pod.get("securityContext") or {}
    containers = pod["containers"]
    if len(containers) != 1:
        yield f"{name}: one container expected (the otel component patches containers/0)"
    for container in containers:
        where = f"{name}/{container['name']}"
        security = container.get("securityContext") or {}

        def secured(key, container_security=security, pod_security=pod_security):
            return container_security.get(key, pod_security.get(key))

        ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = (container.get(probe) or {}).get("httpGet") or {}
            if get.get("path") != path:
                yield f"{where}: {probe} must GET {path}"
            elif get.get("port") not in {*ports, *ports.values()}:
                yield f"{where}: {probe} port {get.get('port')} is not a container port"
        resources = container.get("resources") or {}
        for kind, needed in (("requests", {"cpu", "memory"}), ("limits", {"memory"})):
            if not needed <= set(resources.get(kind) or {}):
                yield f"{where}: resources.{kind} must set {sorted(needed)}"
        if secured("runAsNonRoot") is not True:
            yield f"{where}: runAsNonRoot must be true"
        if secured("runAsUser") != APP_UID:
            yield f"{where}: runAsUser must be {APP_UID}, the image's user"
        if security.get("readOnlyRootFilesystem") is not True:
            yield f"{where}: readOnlyRootFilesystem must be true"
        if security.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation must be false"
        if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
            yield f"{where}: capabilities must drop ALL"
        if (secured("seccompProfile") or {}).get("type") != "RuntimeDefault":
            yield f"{where}: seccompProfile must be RuntimeDefault"
        tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
            yield f"{where}: /tmp must be an emptyDir (the root filesystem is read-only)"
        if image_tag(container["image"]) in (None, "latest"):
            yield f"{where}: image {container['image']} must be pinned to a tag"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_deployments_are_probed_limited_and_locked_down(root: Path) -> None:
    problems = [p for d in of_kind(rendered(root), "Deployment") for p in deployment_problems(d)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_deployments_run_an_existing_service_on_its_port(root: Path) -> None:
    for deployment in of_kind(rendered(root), "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        args = container.get("args") or []
        assert not container.get("command"), "the image's ENTRYPOINT (amiable) must be kept"
        assert len(args) == 2, f"{deployment['metadata']['name']}: args must be serve <service>"
        assert args[0] == "serve"
        service = args[1]
        assert (REPO / "services" / service).is_dir(), f"no folder services/{service}"
        assert service in SERVICES, f"`amiable serve {service}`: {service} is not declared"
        assert deployment["metadata"]["name"] == service
        port = service_port(service)
        ports = [p["containerPort"] for p in container["ports"]]
        assert ports == [port], f"{service} listens on {port}"
        env = {item["name"]: item.get("value") for item in container.get("env", [])}
        assert env.get("AMIABLE_PORT") == str(port)
        sources = container.get("envFrom") or []
        assert {"configMapRef": {"name": CONFIG_MAP}} in sources
        assert {"secretRef": {"name": SECRET}} in sources


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_every_declared_service_is_deployed_and_nothing_else(root: Path) -> None:
    docs = rendered(root)
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        names = {doc["metadata"]["name"] for doc in of_kind(docs, kind)}
        assert names == set(SERVICES), f"{rel(root)}: {kind} {sorted(names)}, not {list(SERVICES)}"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_each_deployment_has_a_service_and_a_disruption_budget(root: Path) -> None:
    docs = rendered(root)
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        template = deployment["spec"]["template"]
        labels = template["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        container = template["spec"]["containers"][0]
        port_names = {port["name"] for port in container["ports"]}
        service = one(docs, "Service", name)
        assert service["spec"]["selector"].items() <= labels.items()
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
        budget = one(docs, "PodDisruptionBudget", name)
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()


# ------------------------------------------------------------------------------------------------
# the otel component and the production overlay


def test_otel_component_sets_the_otel_variables() -> None:
    component = load_documents(kustomization_file(K8S / "components" / "otel"))[0]
    assert component["kind"] == "Component"
    overlays = [root for root in ROOTS if root.parent.name == "overlays"]
    assert overlays, "no overlay under deploy/k8s/overlays"
    production = K8S / "overlays" / "production"
    assert production in overlays
    for deployment in of_kind(rendered(production), "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        names = [item["name"] for item in env]
        assert {
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_SERVICE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES",
        } <= set(names)
        for position, item in enumerate(env):
            for reference in re.findall(r"\$\((\w+)\)", item.get("value", "")):
                assert reference in names[:position], f"$({reference}) used before it is set"
        service_name = next(item for item in env if item["name"] == "OTEL_SERVICE_NAME")
        field = service_name.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        value = service_name.get("value")
        if field:
            label = re.fullmatch(r"metadata\.labels\['([^']+)'\]", field)
            assert label, f"unexpected fieldPath {field}"
            value = labels.get(label[1])
        assert value == f"amiable-{deployment['metadata']['name']}"


def test_production_overlay_scales_within_the_partitions() -> None:
    production = K8S / "overlays" / "production"
    kustomization = load_documents(kustomization_file(production))[0]
    assert any(Path(entry).name == "otel" for entry in kustomization.get("components", []))
    docs = rendered(production)
    scalers = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa
        for hpa in of_kind(docs, "HorizontalPodAutoscaler")
    }
    assert set(scalers) == set(SERVICES), "one HorizontalPodAutoscaler per service"
    for name, hpa in scalers.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert hpa["spec"]["minReplicas"] == 3, name
        # More replicas than partitions get nothing to consume and never become ready.
        assert hpa["spec"]["maxReplicas"] <= PARTITIONS, name
    for deployment in of_kind(docs, "Deployment"):
        # A count in the Deployment would reset the autoscaler's on every apply.
        assert "replicas" not in deployment["spec"], deployment["metadata"]["name"]


def kustomize_command(root: Path) -> list[str] | None:
    if tool := shutil.which("kustomize"):
        return [tool, "build", str(root)]
    if tool := shutil.which("kubectl"):
        return [tool, "kustomize", str(root)]
    return None


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_kustomize_build_matches_the_renderer(root: Path) -> None:
    command = kustomize_command(root)
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    def key(doc):
        return (doc["apiVersion"], doc["kind"], doc["metadata"]["name"])

    assert sorted(map(key, built)) == sorted(map(key, rendered(root)))
    ours = {key(doc): doc for doc in rendered(root)}
    for doc in built:
        assert doc == ours[key(doc)], f"{key(doc)} differs from kustomize's output"


# ------------------------------------------------------------------------------------------------
# Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_bases_are_pinned() -> None:
    args = {}
    bases = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args.setdefault(name, default)
        elif keyword == "FROM":
            image = rest.split()[0]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), image)
            bases.append(image)
    stages = {rest.split()[-1] for keyword, rest in dockerfile_instructions() if keyword == "FROM"}
    external = [image for image in bases if image not in stages]
    assert len(bases) >= 2, "a multi-stage build"
    for image in external:
        assert image_tag(image) not in (None, "latest"), f"pin {image} to a tag"
        assert image.startswith("python:3.11")


def test_dockerfile_runs_amiable_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users, "the image must not run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) == APP_UID, "a numeric user, for runAsNonRoot"
    final = {keyword: rest for keyword, rest in instructions}
    assert json.loads(final["ENTRYPOINT"]) == ["amiable"]
    command = json.loads(final["CMD"])
    assert command[0] == "serve" and command[1] in SERVICES
    exposed = final["EXPOSE"].split()
    assert all(str(service_port(name)) in exposed for name in SERVICES), exposed
    environment_lines = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    assert re.search(r"\bAMIABLE_HOST=0\.0\.0\.0\b", environment_lines)
    assert "/healthz" in final["HEALTHCHECK"] and "urllib" in final["HEALTHCHECK"]
    scripts = tomllib.loads((REPO / "libs/cli/pyproject.toml").read_text())["project"]["scripts"]
    assert "amiable" in scripts


def test_the_image_installs_every_declared_service() -> None:
    """The image installs amiable-cli and what it depends on (`uv sync --package amiable-cli`):
    every package declaring an ``amiable.services`` entry point must be among them."""
    project = tomllib.loads((REPO / "libs/cli/pyproject.toml").read_text())["project"]
    dependencies = {
        re.split(r"[<>=!~;\[ ]", item, maxsplit=1)[0] for item in project["dependencies"]
    }
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        assert entry.dist is not None and entry.dist.name in dependencies, (
            f"service {entry.name}: add {entry.dist.name if entry.dist else '?'} to "
            "libs/cli/pyproject.toml's dependencies, or the image lacks it"
        )
    assert set(SERVICES) == {entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)}


def test_dockerfile_installs_the_locked_dependencies() -> None:
    runs = [rest for keyword, rest in dockerfile_instructions() if keyword == "RUN"]
    assert any(re.search(r"pip install uv==\d+\.\d+\.\d+\b", run) for run in runs)
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs and all("--frozen" in run and "--no-dev" in run for run in syncs)
    assert all("--package amiable-cli" in run for run in syncs)
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", ".amiable"} <= set(ignored)
