"""The deployment files held to real validators, installed from package registries by the test
set-up (tests/deploy/tools.py; a validator that cannot be installed here skips its tests, naming
why):

- the kustomizations build with kustomize (or ``kubectl kustomize``);
- kubeconform, strict, accepts every built resource against the schemas of Kubernetes and of the
  Strimzi and CloudNativePG resources, and rejects a broken one of each kind of schema (so that a
  pass means the schemas were read, not skipped);
- kube-score finds nothing, but for the checks ignored below, each with its reason;
- docker-compose.yml follows the Compose Specification's JSON schema.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.deploy import tools
from tests.deploy.manifests import ROOT_IDS, ROOTS, compose

#: kube-score checks not applied, and why.
KUBE_SCORE_IGNORED = {
    # It looks for podAntiAffinity only; the Deployments spread their replicas over nodes with
    # topologySpreadConstraints (maxSkew 1 per hostname), which also places replicas beyond the
    # node count instead of leaving them pending as a required anti-affinity would.
    "deployment-has-host-podantiaffinity": "replicas are spread by topologySpreadConstraints",
}


def need(name: str):
    try:
        return tools.get(name)
    except tools.Unavailable as exc:
        pytest.skip(str(exc))


def run(command: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=300, check=False
    )


def built(root: Path) -> list[dict]:
    result = run([*need("kustomize"), str(root)])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def kubeconform(docs: list[dict]) -> dict:
    """kubeconform's JSON report on ``docs``, strict, every kind needing a schema."""
    kubernetes = need("kubernetes-schemas")
    crds = need("crd-schemas")
    version = f"v{tools.KUBERNETES_VERSION}-standalone-strict"
    command = [
        str(need("kubeconform")),
        "-strict",
        "-summary",
        "-output",
        "json",
        "-kubernetes-version",
        tools.KUBERNETES_VERSION,
        "-schema-location",
        f"{kubernetes}/{version}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
        "-schema-location",
        f"{crds}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
        "-",
    ]
    result = run(command, yaml.safe_dump_all(docs))
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_kubeconform_accepts_every_resource(root: Path) -> None:
    docs = built(root)
    report = kubeconform(docs)
    problems = [f"{r['kind']} {r['name']}: {r['msg']}" for r in report.get("resources") or []]
    assert not problems, "\n".join(problems)
    assert report["summary"]["valid"] == len(docs), report["summary"]


def _set(path: str, value) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value

    return mutate


#: One resource of each schema source, broken as a typo would break it.
BROKEN = {
    "Deployment": ("claims", _set("spec.template.spec.containers.0.imagePullPolicyy", "Always")),
    "NetworkPolicy": ("services-egress", _set("spec.egress.0.ports.0.port", [9093])),
    "KafkaUser": ("amiable-claims", _set("spec.authorization.acls.0.operations", ["Reed"])),
    "Cluster": ("amiable-pg", _set("spec.backup.retention", "30d")),
    "Database": ("amiable-keys", _set("spec.ownr", "amiable_keys")),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_kubeconform_rejects_a_broken_resource(kind: str) -> None:
    name, mutate = BROKEN[kind]
    docs = built(ROOTS[0])
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    broken = copy.deepcopy(doc)
    mutate(broken)
    report = kubeconform([doc, broken])
    statuses = [resource["status"] for resource in report.get("resources") or []]
    assert report["summary"]["valid"] == 1 and statuses == ["statusInvalid"], report


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_kube_score_finds_nothing(root: Path) -> None:
    ignored = [option for check in KUBE_SCORE_IGNORED for option in ("--ignore-test", check)]
    command = [str(need("kube-score")), "score", "--output-format", "ci", *ignored, "-"]
    result = run(command, yaml.safe_dump_all(built(root)))
    lines = result.stdout.splitlines()
    found = [line for line in lines if line.startswith(("[CRITICAL]", "[WARNING]"))]
    assert not found, "\n".join(found)
    assert any(line.startswith("[OK]") for line in lines), result.stdout + result.stderr


def compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(Path(need("compose-schema")).read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def test_compose_file_follows_the_compose_specification() -> None:
    errors = sorted(compose_validator().iter_errors(compose()), key=lambda error: error.path)
    messages = [f"{'/'.join(map(str, error.path))}: {error.message}" for error in errors]
    assert not messages, "\n".join(messages)


def test_the_compose_schema_rejects_a_broken_file() -> None:
    broken = copy.deepcopy(compose())
    service = next(iter(broken["services"].values()))
    service["restart_policy"] = "always"
    errors = list(compose_validator().iter_errors(broken))
    assert any("restart_policy" in error.message for error in errors), errors
