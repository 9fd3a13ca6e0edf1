"""A consumer may only read what producers guarantee: its declared inputs vs the schemas; and
its declaration names every type its code reacts to or follows."""

from __future__ import annotations

import json
from importlib import import_module
from typing import Any

import pytest

from amiable_disputes.domain.evolve import FOLLOWS
from amiable_dunning.domain.evolve import SEGMENT_EVENTS
from amiable_events import ledger
from amiable_events.catalog import REGISTRY
from amiable_events.consumers import CLAIM_REGISTERED, CONSUMERS, Reads
from amiable_events.schemas import SCHEMAS_DIR

pytestmark = pytest.mark.contract


def _resolve(root: dict, node: dict) -> dict:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _field(root: dict, path: str) -> tuple[dict, bool, bool] | None:
    """(schema, required, nullable) of the field at ``path``, or None if the schema has none."""
    node, required, nullable = root, True, False
    for step in path.split("."):
        items = step.endswith("[]")
        name = step.removesuffix("[]")
        node = _resolve(root, node)
        if name not in node.get("properties", {}):
            return None
        required = required and name in node.get("required", ())
        node = _resolve(root, node["properties"][name])
        branches = node.get("anyOf", [node])
        nullable = any(branch.get("type") == "null" for branch in branches)
        non_null = [_resolve(root, b) for b in branches if b.get("type") != "null"]
        node = non_null[0] if len(non_null) == 1 else node
        if items:
            if "items" not in node:
                return None
            node = _resolve(root, node["items"])
            nullable = nullable or node.get("type") == "null"
    return node, required, nullable


def unguaranteed(schema: dict, reads: Reads) -> list[str]:
    """The declared reads that ``schema`` does not guarantee."""
    problems = []
    for path in reads.required:
        found = _field(schema, path)
        if found is None:
            problems.append(f"{path}: not in the schema")
        elif not found[1]:
            problems.append(f"{path}: read as required but the schema does not require it")
        elif found[2]:
            problems.append(f"{path}: read as required but the schema allows null")
    for path in reads.optional:
        if _field(schema, path) is None:
            problems.append(f"{path}: not in the schema")
    return problems


def _committed(ce_type: str) -> dict:
    path = SCHEMAS_DIR / f"{ce_type}.json"
    assert path.exists(), f"{path.name} is not committed: run `make schemas`"
    return json.loads(path.read_text())


DECLARED = [
    pytest.param(service, ce_type, reads, id=f"{service}:{ce_type}")
    for service, inputs in sorted(CONSUMERS.items())
    for ce_type, reads in sorted(inputs.items())
]


@pytest.mark.parametrize(("service", "ce_type", "reads"), DECLARED)
def test_every_field_a_consumer_reads_is_guaranteed_by_the_schema(service, ce_type, reads):
    assert REGISTRY.knows(ce_type), f"{service} reads {ce_type}, which no producer registers"

    problems = unguaranteed(_committed(ce_type), reads)

    assert not problems, f"{service} reads what {ce_type} does not guarantee:\n" + "\n".join(
        problems
    )


def test_reading_a_field_no_producer_guarantees_is_caught():
    schema = _committed(CLAIM_REGISTERED)
    greedy = Reads(
        required=("debtor.vat_number", "description", "debtor.contacts[].email"),
        optional=("debtor.contacts[].fax", "debtor.postal_address"),
    )

    problems = unguaranteed(schema, greedy)

    assert problems == [
        "debtor.vat_number: not in the schema",
        "description: read as required but the schema does not require it",
        "debtor.contacts[].email: read as required but the schema does not require it",
        "debtor.contacts[].fax: not in the schema",
    ]


SERVICES = ("claims", "risk", "dunning", "communications", "disputes")


def _reacted_to(service: str) -> set[str]:
    """The types in the service's ``Reactions.table``, as its declaration wires them."""
    declared = import_module(f"amiable_{service}.main").SERVICE
    # dev: its defaults (policy, scorecard, figures) with no secret to provide.
    reactions = declared.reactions(declared.settings(env="dev"))
    return {model.type for model in reactions.table}


@pytest.mark.parametrize("service", SERVICES)
def test_the_types_a_service_reacts_to_are_the_ones_declared_as_reactions(service):
    reacted = _reacted_to(service)
    declared = {ce_type for ce_type, reads in CONSUMERS[service].items() if reads.reacts}

    assert reacted, f"{service} reacts to nothing: its reactions were not found"
    assert reacted - declared == set(), f"{service} reacts to types it does not declare"
    assert declared - reacted == set(), f"{service} declares reactions its table lacks"


#: The types a service's fold follows, from the sets its code keeps them in
FOLLOWED = [
    pytest.param("disputes", FOLLOWS, id="disputes:FOLLOWS"),
    pytest.param("dunning", ledger.FOLDED | set(SEGMENT_EVENTS), id="dunning:ledger+segments"),
    pytest.param("communications", ledger.FOLDED, id="communications:ledger"),
]


@pytest.mark.parametrize(("service", "followed"), FOLLOWED)
def test_every_type_a_service_follows_is_declared(service, followed):
    missing = {model.type for model in followed} - set(CONSUMERS[service])

    assert not missing, f"{service} follows types it does not declare: {sorted(missing)}"
