"""The deployment files (Dockerfile, docker-compose.yml, deploy/) checked against the code.

No Docker engine or cluster is needed: the files are parsed and held to what the code says (the
topic layout of `amiable_events.topics`, and the services as declared, `declared()`: each one's
name, port and database). Every declared service must be deployed and nothing else: adding a
service means adding its compose block, its k8s folder, its database and its dead-letter topic.
A tiny kustomize renderer resolves every kustomization recursively, so a missing file fails
here; when `kustomize` or `kubectl` is installed, its output must match. Fast and offline.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from amiable_events.service import ENTRY_POINT_GROUP, KEYS_DATABASE, declared
from amiable_events.topics import (
    CLAIM_EVENTS_TOPIC,
    PARTITIONS,
    topic_specs,
)

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"

NAMESPACE = "amiable"
CONFIG_MAP = "amiable-config"
SECRET = "amiable-secrets"
APP_UID = 10001
#: Replicas of each topic on the Strimzi cluster, and the in-sync minimum for acks=all.
KAFKA_REPLICAS = 3
KAFKA_MIN_INSYNC = 2

#: Compose services whose official image is distroless (no shell, no HTTP client): Docker cannot
#: probe them from inside, so they have no healthcheck and are depended on with service_started.
NO_PROBE_TOOLS = {
    "otel-collector": "otel/opentelemetry-collector-contrib is a scratch image",
    "tempo": "grafana/tempo is a distroless image",
}

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: Kustomization fields the renderer below applies; any other field fails the render, so that a
#: check never passes on output that differs from what kustomize would build.
RENDERED_FIELDS = {
    "apiVersion",
    "kind",
    "metadata",
    "namespace",
    "resources",
    "components",
    "patches",
    "images",
    "replicas",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "ReplicaSet"}

#: The services, as declared by their packages (``amiable.services`` entry points).
SERVICES = declared()
#: One database per service, plus the per-debtor keys.
DATABASES = {*(service.database for service in SERVICES.values()), KEYS_DATABASE}


# ------------------------------------------------------------------------------------------------
# helpers


def load_documents(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), COMPOSE_FILE])


def kustomization_file(directory: Path) -> Path:
    for name in KUSTOMIZATION_NAMES:
        if (directory / name).is_file():
            return directory / name
    raise AssertionError(f"{directory.relative_to(REPO)} has no kustomization.yaml")


def kustomization_dirs() -> list[Path]:
    return sorted({path.parent for name in KUSTOMIZATION_NAMES for path in K8S.rglob(name)})


def render_roots() -> list[Path]:
    """Every buildable kustomization: the base and each overlay."""
    overlays = K8S / "overlays"
    roots = [K8S / "base"]
    if overlays.is_dir():
        roots += sorted(path for path in overlays.iterdir() if path.is_dir())
    return roots


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def service_port(service: str) -> int:
    """The service's declared port."""
    return SERVICES[service].port


def image_tag(image: str) -> str | None:
    """The tag of an image reference (``None`` when it has none, i.e. it means latest)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


# ------------------------------------------------------------------------------------------------
# a tiny kustomize renderer: resources, components, namespace, patches, images, replicas


def render(directory: Path, accumulated: list[dict] | None = None) -> list[dict]:
    """Build ``directory`` like ``kustomize build`` for the fields this repository uses.

    Resources and components are resolved recursively and any missing path fails. A component
    receives the resources accumulated so far (``accumulated``) and transforms them.
    """
    path = kustomization_file(directory)
    kustomization = load_documents(path)[0]
    unsupported = set(kustomization) - RENDERED_FIELDS
    assert not unsupported, (
        f"{rel(path)} uses {sorted(unsupported)}: teach tests/deploy's renderer about them"
    )
    is_component = kustomization.get("kind") == "Component"
    assert is_component == (accumulated is not None), f"{rel(path)}: Component used as resource"
    docs = list(accumulated or [])
    for entry in kustomization.get("resources") or []:
        assert "://" not in entry, f"{rel(path)}: remote resource {entry} (builds must be offline)"
        target = (directory / entry).resolve()
        assert target.exists(), f"{rel(path)}: resource {entry} does not exist"
        if target.is_dir():
            docs += render(target)
        else:
            docs += copy.deepcopy(load_documents(target))
    for entry in kustomization.get("components") or []:
        target = (directory / entry).resolve()
        assert target.is_dir(), f"{rel(path)}: component {entry} does not exist"
        docs = render(target, docs)
    if namespace := kustomization.get("namespace"):
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = namespace
    for patch in kustomization.get("patches") or []:
        apply_patch(directory, path, patch, docs)
    for image in kustomization.get("images") or []:
        set_image(docs, image)
    for replicas in kustomization.get("replicas") or []:
        matched = [
            doc
            for doc in docs
            if doc["kind"] in WORKLOAD_KINDS and doc["metadata"]["name"] == replicas["name"]
        ]
        assert matched, f"{rel(path)}: replicas for unknown workload {replicas['name']}"
        for doc in matched:
            doc["spec"]["replicas"] = replicas["count"]
    return docs


def apply_patch(directory: Path, path: Path, patch: dict, docs: list[dict]) -> None:
    if "path" in patch:
        source = directory / patch["path"]
        assert source.is_file(), f"{rel(path)}: patch {patch['path']} does not exist"
        body = yaml.safe_load(source.read_text(encoding="utf-8"))
    else:
        body = yaml.safe_load(patch["patch"])
    target = patch.get("target")
    if isinstance(body, list):  # JSON 6902
        assert target, f"{rel(path)}: a JSON patch needs a target"
        matched = [doc for doc in docs if matches(doc, target)]
        assert matched, f"{rel(path)}: patch target {target} matches nothing"
        for doc in matched:
            for operation in body:
                json_patch(doc, operation)
        return
    if target is None:
        target = {"kind": body["kind"], "name": body["metadata"]["name"]}
    matched = [doc for doc in docs if matches(doc, target)]
    assert matched, f"{rel(path)}: patch target {target} matches nothing"
    for doc in matched:
        merged = strategic_merge(doc, {k: v for k, v in body.items() if k != "metadata"})
        doc.clear()
        doc.update(merged)


def matches(doc: dict, target: dict) -> bool:
    group, _, version = doc["apiVersion"].rpartition("/")
    checks = {
        "kind": doc["kind"],
        "group": group,
        "version": version,
        "namespace": doc["metadata"].get("namespace"),
    }
    for key, actual in checks.items():
        if key in target and target[key] != actual:
            return False
    if "name" in target and not re.fullmatch(target["name"], doc["metadata"]["name"]):
        return False
    labels = doc["metadata"].get("labels") or {}
    for requirement in filter(None, (target.get("labelSelector") or "").split(",")):
        key, _, value = requirement.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def json_patch(doc: dict, operation: dict) -> None:
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]
    ]
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    op = operation["op"]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(node, list):
        if op == "add":
            node.insert(len(node) if last == "-" else int(last), value)
        elif op == "replace":
            node[int(last)] = value
        elif op == "remove":
            del node[int(last)]
        else:
            raise AssertionError(f"unsupported JSON patch op {op}")
    elif op in ("add", "replace"):
        assert op == "add" or last in node, f"replace of missing {operation['path']}"
        node[last] = value
    elif op == "remove":
        del node[last]
    else:
        raise AssertionError(f"unsupported JSON patch op {op}")


def strategic_merge(base, patch):
    """Maps merge key by key; lists of maps with a ``name`` merge by name; others replace."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = strategic_merge(base[key], value) if key in base else value
        return merged
    named = isinstance(base, list) and isinstance(patch, list)
    if named and all(isinstance(item, dict) and "name" in item for item in [*base, *patch]):
        merged = list(base)
        for item in patch:
            index = next((i for i, old in enumerate(merged) if old["name"] == item["name"]), None)
            if index is None:
                merged.append(item)
            else:
                merged[index] = strategic_merge(merged[index], item)
        return merged
    return copy.deepcopy(patch)


def set_image(docs: list[dict], image: dict) -> None:
    for doc in docs:
        for container in pod_containers(doc):
            reference = container["image"]
            name = re.split(r"[@]", reference)[0]
            name = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
            if name != image["name"]:
                continue
            new = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{new}@{image['digest']}"
            else:
                tag = image.get("newTag", image_tag(reference))
                container["image"] = f"{new}:{tag}" if tag else new


def pod_containers(doc: dict) -> list[dict]:
    if doc.get("kind") not in WORKLOAD_KINDS:
        return []
    spec = doc["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


@functools.cache
def rendered(root: Path) -> tuple[dict, ...]:
    return tuple(render(root))


def of_kind(docs, kind: str) -> list[dict]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs, kind: str, name: str | None = None) -> dict:
    found = [d for d in of_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


ROOTS = render_roots()
ROOT_IDS = [rel(root) for root in ROOTS]


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
# docker-compose.yml

INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR:?message}`` / ``${VAR:-default}`` substitution, and ``$$`` -> ``$``."""

    def substitute(match: re.Match) -> str:
        name, rest = match[1], match[2]
        if env.get(name):
            return env[name]
        if rest.startswith((":?", "?")):
            raise KeyError(f"{name} is required: {rest[2:]}")
        if rest.startswith((":-", "-")):
            return rest[2:] if rest.startswith(":-") else rest[1:]
        return ""

    return INTERPOLATION.sub(substitute, text).replace("$$", "$")


#: The variables compose refuses to start without, each with a value for the tests.
TEST_ENV = {
    "AMIABLE_JWT_SECRET": "jwt-secret-for-tests",
    "POSTGRES_PASSWORD": "pw-for-tests",
    "AMIABLE_KEY_ENCRYPTION_KEY": "YW1pYWJsZS10ZXN0LWtlay0zMi1ieXRlcy1sb25nISE=",
}


@functools.cache
def compose() -> dict:
    return yaml.safe_load(interpolate(COMPOSE_FILE.read_text(encoding="utf-8"), TEST_ENV))


def compose_services() -> dict[str, dict]:
    return compose()["services"]


def amiable_services() -> dict[str, dict]:
    """The compose services that run `amiable serve <service>`."""
    return {
        name: service
        for name, service in compose_services().items()
        if (service.get("command") or [None])[0] == "serve"
    }


def is_one_shot(service: dict) -> bool:
    """A task that runs to completion says so with ``restart: "no"``; all else runs for good."""
    return "restart" in service and str(service["restart"]) == "no"


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


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
