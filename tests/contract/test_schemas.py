"""The committed JSON Schemas: in step with the models, never deleted, never broken."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from typing import Annotated, ClassVar

import pytest
from jsonschema import Draft202012Validator
from pydantic import Field, create_model

from amiable_events import schemas
from amiable_events.base import Event
from amiable_events.catalog import REGISTRY
from amiable_events.claims import ClaimRegistered, Debtor
from amiable_events.schemas import SCHEMAS_DIR, compatibility, json_schema
from tests.support import ROOT

pytestmark = pytest.mark.contract

COMMITTED = sorted(SCHEMAS_DIR.glob("*.json"))


def test_committed_schemas_and_asyncapi_are_the_generated_ones():
    drift = schemas.check(SCHEMAS_DIR, REGISTRY)

    assert not drift, "libs/events/schemas drifted from the event models:\n" + "\n".join(drift)


def test_every_registered_type_has_a_committed_schema():
    committed = {path.name.removesuffix(".json") for path in COMMITTED}

    assert set(REGISTRY.models) <= committed, "run `make schemas` and commit libs/events/schemas"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_a_published_type_is_never_deleted(path):
    ce_type = path.name.removesuffix(".json")
    schema = json.loads(path.read_text())

    assert schema["$id"] == f"urn:amiable:schema:{ce_type}" and schema["title"] == ce_type
    assert REGISTRY.knows(ce_type), (
        f"{ce_type} is published but no longer registered: keep its model and upcast it on read"
    )
    Draft202012Validator.check_schema(schema)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_the_schema_is_compatible_with_every_version_ever_committed(path):
    """`make schemas` refuses an incompatible change; this catches one written around it."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no history to compare with")
    ce_type = path.name.removesuffix(".json")
    model = REGISTRY.models.get(ce_type)
    current = json_schema(model) if model else json.loads(path.read_text())
    relative = path.relative_to(ROOT).as_posix()
    problems = []
    for commit in _git("log", "--format=%H", "--", relative).split():
        old = json.loads(_git("show", f"{commit}:{relative}"))
        problems += [f"since {commit[:10]}: {change}" for change in compatibility(old, current)]

    assert not problems, f"{ce_type} changed incompatibly; add a new version:\n" + "\n".join(
        problems
    )


# --- compatibility(): a modified copy of ClaimRegistered, as a careless change would make it ---


class _SameType(Event):
    type: ClassVar[str] = ClaimRegistered.type
    source: ClassVar[str] = ClaimRegistered.source


def _variant(drop: tuple[str, ...] = (), **fields) -> type[Event]:
    """ClaimRegistered (same ce_type) without ``drop`` and with ``fields`` added or redefined."""
    kept = {
        name: (info.annotation, info)
        for name, info in ClaimRegistered.model_fields.items()
        if name not in drop and name not in fields
    }
    return create_model(
        "ClaimRegistered", __base__=_SameType, __doc__=ClaimRegistered.__doc__, **kept, **fields
    )


def _breaks(model: type[Event]) -> list[str]:
    return compatibility(json_schema(ClaimRegistered), json_schema(model))


def test_the_same_model_is_compatible_with_itself():
    assert json_schema(_variant()) == json_schema(ClaimRegistered)
    assert _breaks(ClaimRegistered) == []


def test_adding_an_optional_field_is_compatible():
    assert _breaks(_variant(channel=(str | None, None))) == []
    assert _breaks(_variant(tags=(tuple[str, ...], ()))) == []


def test_dropping_a_field_breaks():
    assert _breaks(_variant(drop=("purchase_order",))) == ["$.purchase_order: removed"]


def test_adding_a_required_field_breaks():
    assert _breaks(_variant(channel=(str, ...))) == ["$.channel: new required property"]


def test_renaming_a_field_breaks():
    model = _variant(drop=("invoice_number",), invoice_no=(str, ...))

    assert _breaks(model) == ["$.invoice_number: removed", "$.invoice_no: new required property"]


def test_changing_the_amount_type_breaks():
    changed = _variant(amount=(float, ...))

    assert _breaks(changed) == ["$.amount: type changed from string to number"]


def test_a_field_that_became_required_or_non_null_breaks():
    assert _breaks(_variant(description=(str, ...))) == [
        "$.description: became required",
        "$.description: no longer accepts null",
    ]


def test_a_required_field_that_became_nullable_breaks():
    assert _breaks(_variant(due_on=(date | None, None))) == [
        "$.due_on: no longer required",
        "$.due_on: may now be null",
    ]


def test_narrowing_a_pattern_or_format_breaks():
    model = _variant(currency=(Annotated[str, Field(pattern=r"^EUR$")], ...))

    assert _breaks(model) == ["$.currency: pattern changed from '^[A-Z]{3}$' to '^EUR$'"]


def test_a_change_inside_a_nested_object_breaks():
    class DebtorChanged(Debtor):
        country: int
        duns: str

    assert _breaks(_variant(debtor=(DebtorChanged, ...))) == [
        "$.debtor.country: type changed from string to integer",
        "$.debtor.duns: new required property",
    ]


def test_a_change_inside_array_items_breaks():
    old = json_schema(ClaimRegistered)
    new = json.loads(json.dumps(old))
    new["$defs"]["Contact"]["properties"]["email"]["anyOf"][0]["format"] = "email"

    assert compatibility(old, new) == [
        "$.debtor.contacts[].email: format changed from None to 'email'"
    ]


def test_allowing_no_more_extra_properties_breaks():
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {**old, "additionalProperties": False}

    assert compatibility(old, new) == ["$: additional properties no longer allowed"]
    assert compatibility(new, old) == []


def test_a_changed_enum_breaks():
    old = {"$defs": {"Tone": {"enum": ["firm", "friendly"], "type": "string"}}}
    old |= {"type": "object", "properties": {"tone": {"$ref": "#/$defs/Tone"}}}
    new = json.loads(json.dumps(old))
    new["$defs"]["Tone"]["enum"] = ["firm"]

    assert compatibility(old, new) == ["$.tone: enum changed from ['firm', 'friendly'] to ['firm']"]


def test_write_refuses_an_incompatible_schema(tmp_path):
    from amiable_events.registry import Registry

    schemas.write(tmp_path, Registry(models=[ClaimRegistered]))
    changed = Registry(models=[_variant(drop=("purchase_order",))])

    with pytest.raises(schemas.IncompatibleChange, match=r"purchase_order: removed"):
        schemas.write(tmp_path, changed)
    assert any("incompatible" in message for message in schemas.check(tmp_path, changed))
