"""Every event the code produces is what the committed contract says: payload, headers, key."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT7

from amiable_claims.domain.commands import RegisterClaim
from amiable_claims.domain.decide import decide_registration
from amiable_events.claims import Contact, Debtor, DebtorPersonalDataErased
from amiable_events.envelope import Envelope, encode
from amiable_events.ids import caused_id, seeded_ids
from amiable_events.personal import seal_with
from amiable_events.schemas import ASYNCAPI_FILE, SCHEMAS_DIR
from tests.claims_givens import context, envelope, every_claims_event
from tests.factories import T0, registered
from tests.risk_givens import every_risk_event

pytestmark = pytest.mark.contract

ASYNCAPI_URI = "urn:amiable:asyncapi"

#: jsonschema checks date-time only with an optional package; the envelope's form is ISO 8601.
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def _fully_described_claim() -> Envelope:
    """A claim registered by the claims decider itself, every optional field set."""
    key = bytes(range(32))
    account = "acme:durand"

    def seal(text: str) -> str:
        return seal_with(key, account, text)

    command = RegisterClaim(
        tenant="acme",
        invoice_number="INV-2026-0042",
        amount=Decimal("12500.50"),
        currency="EUR",
        issued_on=date(2026, 10, 1),
        due_on=date(2026, 10, 31),
        contract_reference="MSA-7",
        purchase_order="PO-991",
        description="Maintenance, October",
        idempotency_key="3f0a-retry-safe",
        debtor=Debtor(
            id="durand",
            legal_name="Durand Industries SAS",
            registration_id="732829320",
            country="FR",
            language="fr-FR",
            timezone="Europe/Paris",
            contacts=(
                Contact(
                    name=seal("Claire Martin"), email=seal("c@d.example"), role_sealed=seal("AP")
                ),
                Contact(phone=seal("+33612345678")),
            ),
            postal_address=seal('{"lines": ["12 rue de la Paix"], "city": "Paris"}'),
        ),
    )
    [event, _] = decide_registration(None, command, context(T0, seeded_ids(1)))
    cause = registered(99, tenant="acme", debtor="durand")
    return replace(
        cause.caused(event, id=caused_id(cause.id, "claims", "register"), time=T0),
        subject=str(event.claim_id),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate="amiable=1",
        actor="accounts-clerk@acme",
    )


def _erasure() -> Envelope:
    """An event about a debtor account, not a claim: subject ``debtor:<id>``."""
    event = DebtorPersonalDataErased(debtor_id="durand", erased_at=T0)
    cause = registered(98, tenant="acme", debtor="durand")
    return replace(cause, data=event, subject=event.subject, actor="dpo@acme")


PRODUCED = [
    *(registered(n) for n in range(5)),
    registered(5, description="Relance amiable — 2ᵉ échéance"),
    registered(6, tenant="globex", debtor="d:with:colons"),
    replace(registered(7), time=datetime(2026, 3, 2, 10, 30, 0, 1, tzinfo=UTC)),
    _fully_described_claim(),
    _erasure(),
    *(envelope(event) for event in every_claims_event()),
    *every_risk_event(),
]


#: By position, not by event id: ids are random, and every xdist worker must collect the same.
IDS = [f"{envelope.type}#{n}" for n, envelope in enumerate(PRODUCED)]


@pytest.fixture(scope="module")
def asyncapi() -> Registry:
    document = yaml.safe_load((SCHEMAS_DIR / ASYNCAPI_FILE).read_text())
    return Registry().with_resource(ASYNCAPI_URI, DRAFT7.create_resource(document))


def _asyncapi_validator(registry: Registry, pointer: str) -> Draft7Validator:
    return Draft7Validator(
        {"$ref": f"{ASYNCAPI_URI}#{pointer}"}, registry=registry, format_checker=FORMATS
    )


def _problems(validator, instance) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


@pytest.mark.parametrize("envelope", PRODUCED, ids=IDS)
def test_produced_payload_validates_against_its_committed_schema(envelope):
    _, value, headers = encode(envelope)
    schema = json.loads((SCHEMAS_DIR / f"{envelope.type}.json").read_text())
    assert dict(headers)["ce_dataschema"].decode() == schema["$id"]

    problems = _problems(Draft202012Validator(schema, format_checker=FORMATS), json.loads(value))

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("envelope", PRODUCED, ids=IDS)
def test_produced_message_validates_against_the_asyncapi_message(envelope, asyncapi):
    key, value, headers = encode(envelope)
    message = f"/components/messages/{envelope.type}"
    assert len({name for name, _ in headers}) == len(headers), "a header is written twice"
    header_values = {name: raw.decode() for name, raw in headers}

    problems = _problems(_asyncapi_validator(asyncapi, f"{message}/headers"), header_values)
    problems += _problems(_asyncapi_validator(asyncapi, f"{message}/payload"), json.loads(value))
    problems += _problems(
        _asyncapi_validator(asyncapi, f"{message}/bindings/kafka/key"), key.decode()
    )

    assert not problems, "\n".join(problems)


def test_the_headers_schema_rejects_what_the_envelope_never_writes(asyncapi):
    _, _, headers = encode(registered(1))
    good = {name: raw.decode() for name, raw in headers}
    validator = _asyncapi_validator(
        asyncapi, "/components/messages/amiable.claims.claim-registered.v1/headers"
    )

    assert not _problems(validator, good)
    assert _problems(validator, {k: v for k, v in good.items() if k != "ce_tenant"})
    assert _problems(validator, {**good, "ce_type": "amiable.claims.claim-settled.v1"})
    assert _problems(validator, {**good, "ce_time": "yesterday"})
    assert _problems(validator, {**good, "x-unknown": "1"})
    assert not _problems(validator, {**good, "ce_actor": "service:claims"})
    assert _problems(validator, {**good, "ce_actor": ""})


def test_sealed_personal_data_is_marked_in_the_schema():
    schema = json.loads((SCHEMAS_DIR / "amiable.claims.claim-registered.v1.json").read_text())
    sealed = re.findall(r'"pattern": "\^pii:v1:"', json.dumps(schema))
    marked = json.dumps(schema).count('"x-amiable-personal-data": true')

    assert len(sealed) == marked == 5  # name, email, phone, role of a contact, postal address
