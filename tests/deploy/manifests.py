"""What the deploy tests read: the deployment files, parsed, and the services as declared.

- a tiny kustomize renderer that resolves every kustomization recursively (resources,
  components, namespace, patches, images, replicas), so that a missing file fails; when
  `kustomize` or `kubectl` is installed, tests/deploy/test_deploy.py holds it to their output;
- docker-compose.yml with compose's `${VAR:?}`/`${VAR:-}` interpolation.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

import yaml

from amiable_events.service import KEYS_DATABASE, declared

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
