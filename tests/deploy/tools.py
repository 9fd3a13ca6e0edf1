"""The validators of the deploy tests, installed from package registries by the test set-up.

Nothing is vendored and nothing comes from outside a registry:

- kubeconform and kube-score: ``go install`` of their Go modules (the Go module proxy);
- kustomize: ``go install`` too, only where neither ``kustomize`` nor ``kubectl`` is installed;
- the Kubernetes JSON schemas: the PyPI package ``kubernetes-validate``, which ships them;
- the CloudNativePG CRDs: the operator's own Go module, whose ``config/crd/bases`` are its CRDs;
- the Strimzi CRDs: Strimzi's ``io.strimzi:api`` jar (Maven Central) holds the model classes,
  and its ``io.strimzi:crd-generator`` writes the CRDs from them, as Strimzi's build does
  (a Java 21 or newer runs it: the generator's class files are Java 21's);
- the Compose Specification schema: ``schema/compose-spec.json`` of the Go module
  ``github.com/compose-spec/compose-go/v2``, the reference implementation of the spec.

CRDs are turned into the JSON schemas kubeconform reads (one file per group, kind and version)
with a few lines of Python. The binaries and schemas land under ``.amiable/deploy-tools``
(``AMIABLE_STATE_DIR`` moves it), once: a step whose marker names the pinned version is not run
again. The downloads go through each client's own cache (Go's, Maven's, uv's), outside the clone.

The installs take a minute or more on a clean cache (compiling Go), so :func:`start` runs them
in background threads as soon as the deploy tests are collected (tests/deploy/conftest.py), and
a test waits only for the tool it uses. A step that cannot run here (no Go, no Java 21, no
registry) makes the tests that need it skip, naming why. Under pytest-xdist each worker runs
the same steps: a file lock per step lets one install while the other waits, then reuses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("AMIABLE_STATE_DIR") or REPO / ".amiable")
CACHE = STATE / "deploy-tools"
BIN = CACHE / "bin"

KUBECONFORM = "github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0"
KUBE_SCORE = "github.com/zegl/kube-score/cmd/kube-score@v1.20.0"
KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5@v5.8.1"
#: The Kubernetes release the manifests are validated against: the oldest one supported.
KUBERNETES_VERSION = "1.33.0"
KUBERNETES_SCHEMAS = "kubernetes-validate==1.37.0"
CNPG_MODULE = "github.com/cloudnative-pg/cloudnative-pg@v1.27.1"
COMPOSE_MODULE = "github.com/compose-spec/compose-go/v2@v2.16.2"
STRIMZI_VERSION = "1.2.0"
#: The Strimzi resources this repository deploys, by the class that models each.
STRIMZI_MODELS = {
    "Kafka": "io.strimzi.api.kafka.model.kafka.Kafka",
    "KafkaNodePool": "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
    "KafkaTopic": "io.strimzi.api.kafka.model.topic.KafkaTopic",
    "KafkaUser": "io.strimzi.api.kafka.model.user.KafkaUser",
}
#: The oldest Java whose class files the Strimzi CRD generator can be run by.
STRIMZI_GENERATOR_JAVA = 21
STEP_TIMEOUT = 900


class Unavailable(Exception):
    """A tool cannot be installed here; the message says why (the skip reason)."""


# ------------------------------------------------------------------------------------------------
# running steps once, in the background


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    (CACHE / "locks").mkdir(parents=True, exist_ok=True)
    with (CACHE / "locks" / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _once(name: str, version: str, result: Path, install: Callable[[], None]) -> Path:
    """``install()`` unless ``result`` was made for ``version`` already, under a file lock."""
    marker = CACHE / "done" / name
    with _locked(name):
        if result.exists() and marker.is_file() and marker.read_text() == version:
            return result
        install()
        if not result.exists():
            raise Unavailable(f"{name}: installing {version} did not make {result}")
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(version)
    return result


def _run(command: list[str], *, env: dict[str, str] | None = None, **options) -> str:
    try:
        done = subprocess.run(
            command,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
            **options,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"{' '.join(command[:3])}: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise Unavailable(f"{' '.join(command[:3])} failed: {' / '.join(tail)}")
    return done.stdout


def _which(program: str, why: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise Unavailable(f"{program} is not installed ({why})")
    return path


# ------------------------------------------------------------------------------------------------
# Go: binaries and module files


def _go_env() -> dict[str, str]:
    # Go's own module and build caches (per user, outside the clone) are kept: a fresh clone on
    # a machine that built these tools before installs them in seconds.
    return {
        "GOBIN": str(BIN),
        # Read-only module files would make a copied or cleaned cache hard to delete.
        "GOFLAGS": "-modcacherw",
        "CGO_ENABLED": "0",
    }


def go_install(package: str) -> Path:
    name = package.split("@")[0].rsplit("/", 1)[-1]
    go = _which("go", f"needed to install {name}")
    return _once(
        name,
        package,
        BIN / name,
        lambda: _run([go, "install", package], env=_go_env()),
    )


def go_module(module: str) -> Path:
    """The unpacked files of ``module@version``, from the Go module proxy."""
    go = _which("go", f"needed to download {module}")
    info = json.loads(_run([go, "mod", "download", "-json", module], env=_go_env(), cwd=CACHE))
    if info.get("Error"):
        raise Unavailable(f"{module}: {info['Error']}")
    return Path(info["Dir"])


# ------------------------------------------------------------------------------------------------
# schemas


def kubernetes_schemas() -> Path:
    """Strict standalone JSON schemas of ``KUBERNETES_VERSION``'s built-in kinds, one file per
    kind as kubeconform names them (``<kind>-<group>-<version>.json``).

    kubernetes-validate ships each kind's schema with references into one shared definitions
    file, under an absolute path of its own resolver; kubeconform compiles each file alone, so
    each kind is written with the definitions it reaches copied in."""
    package = CACHE / "kubernetes-validate"
    target = CACHE / "schemas" / "kubernetes"
    folder = f"v{KUBERNETES_VERSION}-standalone-strict"

    def install() -> None:
        uv = shutil.which("uv") or str(STATE / "tools" / "bin" / "uv")
        if not Path(uv).is_file():
            raise Unavailable("uv is not installed (needed to fetch kubernetes-validate)")
        shutil.rmtree(package, ignore_errors=True)
        install = [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(package)]
        _run([*install, "--python", sys.executable, KUBERNETES_SCHEMAS])
        source = package / "kubernetes_validate" / "kubernetes-json-schema"
        source /= f"v{KUBERNETES_VERSION}-local-strict"
        if not source.is_dir():
            raise Unavailable(f"{KUBERNETES_SCHEMAS} has no schemas for {KUBERNETES_VERSION}")
        shutil.rmtree(target / folder, ignore_errors=True)
        write_standalone(source, target / folder)

    _once("kubernetes-schemas", f"{KUBERNETES_SCHEMAS} {folder}", target / folder, install)
    return target


def write_standalone(source: Path, target: Path) -> None:
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]

    def local(node):
        """``node`` with every reference pointing into its own file's ``definitions``."""
        if isinstance(node, list):
            return [local(item) for item in node]
        if not isinstance(node, dict):
            return node
        return {
            key: "#/definitions/" + value.rsplit("/", 1)[1]
            if key == "$ref" and isinstance(value, str)
            else local(value)
            for key, value in node.items()
        }

    def reached(node, found: set[str]) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                name = node["$ref"].rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    reached(definitions[name], found)
            for value in node.values():
                reached(value, found)
        elif isinstance(node, list):
            for value in node:
                reached(value, found)

    target.mkdir(parents=True)
    for path in source.glob("*.json"):
        schema = json.loads(path.read_text())
        if "enum" not in schema.get("properties", {}).get("kind", {}):
            continue  # a part of a kind (a spec, a status), or the shared definitions
        found: set[str] = set()
        reached(schema, found)
        # kubeconform's compiler resolves references under "definitions", not "$defs".
        standalone = local(schema) | {
            "definitions": {name: local(definitions[name]) for name in found}
        }
        (target / path.name).write_text(json.dumps(standalone))


def strict(node):
    """A CRD's OpenAPI schema as kubeconform's strict mode reads it (as Kubernetes does): no
    field that the schema does not name, ints-or-strings as either."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: strict(value) for key, value in node.items()}
    if node.get("x-kubernetes-int-or-string"):
        node.pop("type", None)
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        node["additionalProperties"] = False
    return node


def write_crd_schemas(crds: list[dict], target: Path) -> list[str]:
    """One ``<group>/<kind>_<version>.json`` per version of each CRD; the files written."""
    written = []
    for crd in crds:
        spec = crd["spec"]
        kind = spec["names"]["kind"].lower()
        for version in spec["versions"]:
            path = target / spec["group"] / f"{kind}_{version['name']}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(strict(version["schema"]["openAPIV3Schema"])))
            written.append(str(path.relative_to(target)))
    return written


def crd_schemas() -> Path:
    """kubeconform schemas for the CloudNativePG and Strimzi resources."""
    target = CACHE / "schemas" / "crds"
    cnpg = target / "postgresql.cnpg.io" / "cluster_v1.json"
    strimzi = target / "kafka.strimzi.io" / "kafkauser_v1.json"

    def install_cnpg() -> None:
        bases = go_module(CNPG_MODULE) / "config" / "crd" / "bases"
        crds = [yaml.safe_load(path.read_text()) for path in sorted(bases.glob("*.yaml"))]
        write_crd_schemas(crds, target)

    def install_strimzi() -> None:
        write_crd_schemas(strimzi_crds(), target)

    _once("cnpg-schemas", CNPG_MODULE, cnpg, install_cnpg)
    _once("strimzi-schemas", STRIMZI_VERSION, strimzi, install_strimzi)
    return target


def java_at_least(major: int) -> str:
    candidates = [
        os.environ.get("JAVA_HOME", "") and f"{os.environ['JAVA_HOME']}/bin/java",
        shutil.which("java") or "",
        *sorted(str(path) for path in Path("/usr/lib/jvm").glob("*/bin/java")),
    ]
    for java in filter(None, candidates):
        try:
            probe = subprocess.run(
                [java, "-version"], capture_output=True, text=True, timeout=30, check=False
            )
        except OSError:
            continue
        found = re.search(r'version "(\d+)', probe.stderr)
        if found and int(found[1]) >= major:
            return java
    raise Unavailable(f"no Java {major} or newer (the Strimzi CRD generator needs it)")


def strimzi_crds() -> list[dict]:
    """Strimzi's CRDs, written by its CRD generator from its API jar (both from Maven)."""
    mvn = _which("mvn", "needed to fetch Strimzi's API and CRD generator")
    java = java_at_least(STRIMZI_GENERATOR_JAVA)
    jars = CACHE / "strimzi"
    for artifact in ("api", "crd-generator"):
        _run(
            [
                mvn,
                "--batch-mode",
                "--quiet",
                # The user's repository, not the stack's (.amiable/m2): `amiable stack up` may
                # be filling that one at this moment, and Maven does not share one between
                # concurrent runs safely.
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                f"-Dartifact=io.strimzi:{artifact}:{STRIMZI_VERSION}",
                f"-DoutputDirectory={jars}",
            ]
        )
    classpath = ":".join(str(jars / f"{a}-{STRIMZI_VERSION}.jar") for a in ("api", "crd-generator"))
    out = jars / "crds"
    out.mkdir(parents=True, exist_ok=True)
    outputs = {kind: out / f"{kind}.yaml" for kind in STRIMZI_MODELS}
    _run(
        [java, "-cp", classpath, "io.strimzi.crdgenerator.CrdGenerator", "--yaml"]
        + ["--crd-api-version", "v1", "--api-versions", "v1", "--storage-version", "v1"]
        + [f"{model}={outputs[kind]}" for kind, model in STRIMZI_MODELS.items()]
    )
    return [yaml.safe_load(path.read_text()) for path in outputs.values()]


def compose_schema() -> Path:
    """The Compose Specification's JSON schema, as compose-go (its reference code) ships it."""
    target = CACHE / "schemas" / "compose-spec.json"

    def install() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        source = go_module(COMPOSE_MODULE) / "schema" / "compose-spec.json"
        target.write_bytes(source.read_bytes())

    return _once("compose-schema", COMPOSE_MODULE, target, install)


# ------------------------------------------------------------------------------------------------
# what the tests ask for


def kustomize() -> list[str]:
    """The command that builds a kustomization (the directory is appended)."""
    if path := shutil.which("kustomize"):
        return [path, "build"]
    if path := shutil.which("kubectl"):
        return [path, "kustomize"]
    return [str(go_install(KUSTOMIZE)), "build"]


STEPS: dict[str, Callable[[], object]] = {
    "kustomize": kustomize,
    "kubeconform": lambda: go_install(KUBECONFORM),
    "kube-score": lambda: go_install(KUBE_SCORE),
    "kubernetes-schemas": kubernetes_schemas,
    "crd-schemas": crd_schemas,
    "compose-schema": compose_schema,
}
#: Steps that share a thread: each Go build uses every core, so running two at once only
#: interleaves them; downloads and the CRD generator overlap with them instead.
LANES = (
    ("kustomize", "kubeconform", "kube-score"),
    ("compose-schema", "kubernetes-schemas", "crd-schemas"),
)

_futures: dict[str, Future] = {}
_started = threading.Lock()
#: Seconds each step took in this process (a step found done takes almost none).
timings: dict[str, float] = {}


def start() -> None:
    """Run every step in background threads, once per process."""
    with _started:
        if _futures:
            return
        CACHE.mkdir(parents=True, exist_ok=True)
        _futures.update({name: Future() for name in STEPS})
        for lane in LANES:
            threading.Thread(target=_run_lane, args=(lane,), daemon=True).start()


def _run_lane(lane: tuple[str, ...]) -> None:
    for name in lane:
        began = time.monotonic()
        try:
            _futures[name].set_result(STEPS[name]())
        except Exception as exc:  # Unavailable skips; any other error (a bug) fails the tests
            _futures[name].set_exception(exc)
        timings[name] = time.monotonic() - began


def get(name: str):
    """The step's result, once it is done; :class:`Unavailable` says why there is none."""
    start()
    return _futures[name].result(timeout=STEP_TIMEOUT * 2)
