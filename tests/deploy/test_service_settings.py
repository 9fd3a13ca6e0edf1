"""The settings the deployment files hand each service, held to its settings class.

A misspelt variable (AMIABLE_SMTP_HOTS) is ignored by pydantic-settings and the service falls back
to its default, here localhost:25: every AMIABLE_* variable a compose service or a Deployment
sets must name a field of that service's settings. The communications service must reach a mail
relay and an SMS gateway, with their credentials kept out of ConfigMaps.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.deploy.manifests import (
    ROOT_IDS,
    ROOTS,
    SERVICES,
    amiable_services,
    compose_services,
    environment,
    of_kind,
    one,
    rendered,
)

PREFIX = "AMIABLE_"
#: The communications settings that hold credentials: a Secret's, never a ConfigMap's.
CREDENTIALS = {"AMIABLE_SMTP_USERNAME", "AMIABLE_SMTP_PASSWORD", "AMIABLE_SMS_GATEWAY_TOKEN"}


def known_variables(service: str) -> set[str]:
    settings = SERVICES[service].settings
    return {PREFIX + field.upper() for field in settings.model_fields}


def deployment_variables(docs: tuple[dict, ...], deployment: dict) -> dict[str, dict]:
    """Every variable the Deployment's container gets: from its ConfigMaps (by key, with the
    value) and its env entries (the entry itself)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    variables = {}
    for source in container.get("envFrom") or []:
        if reference := source.get("configMapRef"):
            data = one(docs, "ConfigMap", reference["name"])["data"]
            variables |= {key: {"name": key, "value": value} for key, value in data.items()}
    variables |= {item["name"]: item for item in container.get("env") or []}
    return variables


def test_compose_sets_only_known_settings() -> None:
    for name, service in amiable_services().items():
        unknown = {v for v in environment(service) if v.startswith(PREFIX)} - known_variables(name)
        assert not unknown, f"compose {name}: {sorted(unknown)} are no setting of {name}"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_deployments_set_only_known_settings(root: Path) -> None:
    docs = rendered(root)
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        names = {v for v in deployment_variables(docs, deployment) if v.startswith(PREFIX)}
        unknown = names - known_variables(name)
        assert not unknown, f"{rel_name(root)} {name}: {sorted(unknown)} are no setting"


def rel_name(root: Path) -> str:
    return f"{root.parent.name}/{root.name}"


def test_compose_communications_reaches_its_mail_sink_and_sms_gateway() -> None:
    services = compose_services()
    communications = services["communications"]
    env = environment(communications)
    relay = env["AMIABLE_SMTP_HOST"]
    gateway = urlsplit(env["AMIABLE_SMS_GATEWAY_URL"]).hostname
    for host in (relay, gateway):
        assert host in services, f"{host} is not a compose service"
        assert communications["depends_on"][host]["condition"] == "service_healthy"
        assert "healthcheck" in services[host]
    assert env["AMIABLE_SMTP_TLS"] in {"none", "starttls", "tls"}
    assert int(env["AMIABLE_SMTP_PORT"]) > 0
    assert not CREDENTIALS & set(env), "no credentials in the compose file"


@pytest.mark.parametrize("root", ROOTS, ids=ROOT_IDS)
def test_communications_relay_is_configured_and_its_credentials_are_secret(root: Path) -> None:
    docs = rendered(root)
    variables = deployment_variables(docs, one(docs, "Deployment", "communications"))
    for name in ("AMIABLE_SMTP_HOST", "AMIABLE_SMTP_PORT", "AMIABLE_SMS_GATEWAY_URL"):
        assert variables.get(name, {}).get("value"), f"{name} is not set"
    assert variables["AMIABLE_SMTP_TLS"]["value"] in {"none", "starttls", "tls"}
    for name in CREDENTIALS:
        reference = variables[name].get("valueFrom", {}).get("secretKeyRef")
        assert reference, f"{name} must come from a Secret"
        assert reference["key"] == name
    for config_map in of_kind(docs, "ConfigMap"):
        assert not CREDENTIALS & set(config_map["data"]), f"credentials in {config_map}"
