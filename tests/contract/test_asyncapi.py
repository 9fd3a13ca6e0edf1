"""The AsyncAPI document is valid against the official AsyncAPI 3.0.0 JSON Schema.

That schema comes from the npm package ``@asyncapi/specs`` (the one AsyncAPI's own tools
use), installed once into the state folder. Without npm this test fails: it is the only way the
document is checked against the spec.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from amiable_events.catalog import REGISTRY
from amiable_events.schemas import ASYNCAPI_FILE, SCHEMAS_DIR
from amiable_events.service import declared
from amiable_events.topics import CLAIM_EVENTS_TOPIC, PARTITIONS, dlq_topic
from tests.support import ROOT

pytestmark = pytest.mark.contract

ASYNCAPI_SPECS = "@asyncapi/specs"
ASYNCAPI_SPECS_VERSION = "6.11.1"
SPEC_FILE = "schemas/3.0.0.json"
PINNED = f"{ASYNCAPI_SPECS}@{ASYNCAPI_SPECS_VERSION}"


def _npm_prefix() -> Path:
    state = os.environ.get("AMIABLE_STATE_DIR")
    return (Path(state) if state else ROOT / ".amiable") / "npm"


def _installed_version(package: Path) -> str | None:
    try:
        return json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="module")
def asyncapi_spec() -> dict:
    prefix = _npm_prefix()
    package = prefix / "node_modules" / ASYNCAPI_SPECS
    if _installed_version(package) != ASYNCAPI_SPECS_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                f"npm is needed to fetch the official AsyncAPI JSON Schema ({PINNED}); "
                "install Node.js with npm "
                "(e.g. `apt-get install npm`) and run the contract tests again"
            )
        prefix.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", PINNED],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or _installed_version(package) != ASYNCAPI_SPECS_VERSION:
            pytest.fail(f"npm could not install {ASYNCAPI_SPECS}:\n{done.stdout}\n{done.stderr}")
    return json.loads((package / SPEC_FILE).read_text())


def _spec_validator(spec: dict) -> Draft7Validator:
    """The bundled spec holds every definition it needs (the draft-07 metaschema included),
    each under its own ``$id``: crawling it registers them all, so nothing is fetched."""
    registry = Registry().with_resource(spec["$id"], Resource.from_contents(spec)).crawl()
    return Draft7Validator(spec, registry=registry)


def _errors(validator: Draft7Validator, document: dict) -> list[str]:
    """One line per error, each narrowed to its most relevant cause (a oneOf says little)."""
    errors = [best_match([error]) for error in validator.iter_errors(document)]
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message[:300]}"
        for error in errors
    )


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load((SCHEMAS_DIR / ASYNCAPI_FILE).read_text())


def test_asyncapi_document_is_valid_against_the_official_schema(asyncapi_spec, document):
    assert asyncapi_spec["$schema"].startswith("http://json-schema.org/draft-07/schema")

    errors = _errors(_spec_validator(asyncapi_spec), document)

    assert not errors, "asyncapi.yaml is not valid AsyncAPI 3.0.0:\n" + "\n".join(errors)


def test_the_official_schema_does_catch_an_invalid_document(asyncapi_spec, document):
    broken = json.loads(json.dumps(document))
    del broken["info"]
    broken["channels"]["claimEvents"]["bindings"]["kafka"]["partitions"] = 0

    errors = _errors(_spec_validator(asyncapi_spec), broken)

    assert any("'info' is a required property" in error for error in errors)
    assert "channels/claimEvents/bindings/kafka/partitions: 0 is less than the minimum of 1" in (
        errors
    )


def test_the_document_describes_the_log_its_messages_and_the_dead_letter_topics(document):
    log = document["channels"]["claimEvents"]
    kafka = log["bindings"]["kafka"]

    assert log["address"] == kafka["topic"] == CLAIM_EVENTS_TOPIC
    assert kafka["partitions"] == PARTITIONS
    assert kafka["topicConfiguration"] == {"retention.ms": -1, "cleanup.policy": ["delete"]}
    assert set(log["messages"]) == set(REGISTRY.models)
    assert document["servers"]["local-kafka"] == {
        "host": "localhost:19092",
        "protocol": "kafka",
        "description": document["servers"]["local-kafka"]["description"],
    }
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {CLAIM_EVENTS_TOPIC, f"{CLAIM_EVENTS_TOPIC}.dlq.{{service}}"}
    assert set(document["channels"]["deadLetters"]["parameters"]) == {"service"}
    for service in declared():  # the one address pattern names every service's DLQ topic
        address = document["channels"]["deadLetters"]["address"]
        assert address.format(service=service) == dlq_topic(service)
    actions = {operation["action"] for operation in document["operations"].values()}
    assert actions == {"send", "receive"}
