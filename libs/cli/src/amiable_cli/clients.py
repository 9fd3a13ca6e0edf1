"""``amiable clients``: each declared service's OpenAPI document, and a typed Python client
generated from it by openapi-python-client (a dev dependency, run from this environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from amiable_events.service import Service, build_app

#: The generator's command, installed next to this interpreter. Its post-generation hooks run
#: ``ruff`` from the same folder.
BIN = Path(sys.executable).parent
GENERATOR = BIN / "openapi-python-client"


@dataclass(frozen=True)
class Generated:
    service: str
    document: Path  #: the OpenAPI document the client was generated from
    project: Path  #: the client's project, installable with pip
    package: str  #: the client's import name
    warnings: str  #: what the generator reported it left out; empty when it left out nothing


def openapi_document(service: Service) -> dict:
    """The service's OpenAPI document, as ``/openapi.json`` serves it. Building the app
    connects nothing, and the document does not depend on the settings: dev settings need no
    secret."""
    return build_app(service, service.settings(env="dev")).openapi()


def generate(services: Mapping[str, Service], out: Path) -> list[Generated]:
    """Write ``out/openapi/<service>.json`` and generate ``out/amiable-<service>-client/``
    (package ``amiable_<service>_client``) for each service, replacing an earlier one."""
    if not GENERATOR.exists():
        raise FileNotFoundError(
            f"{GENERATOR} is missing: openapi-python-client is a dev dependency (uv sync)"
        )
    documents = out / "openapi"
    documents.mkdir(parents=True, exist_ok=True)
    generated = []
    with tempfile.TemporaryDirectory() as configs:
        for name, service in services.items():
            document = documents / f"{name}.json"
            document.write_text(
                json.dumps(openapi_document(service), sort_keys=True, indent=2) + "\n",
                encoding="utf-8",
            )
            config = Path(configs) / f"{name}.json"
            config.write_text(
                json.dumps(
                    {
                        "project_name_override": f"amiable-{name}-client",
                        "package_name_override": f"amiable_{name}_client",
                        # Enumerations as Literal types of their values: some of ours (the
                        # tz database's zones: GMT+0, GMT-0, GMT0) have values that become
                        # one Python name, which an Enum class cannot hold twice.
                        "literal_enums": True,
                    }
                ),
                encoding="utf-8",
            )
            project = out / f"amiable-{name}-client"
            result = subprocess.run(
                [
                    str(GENERATOR),
                    "generate",
                    "--path",
                    str(document),
                    "--config",
                    str(config),
                    "--output-path",
                    str(project),
                    "--overwrite",
                ],
                env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"openapi-python-client failed on {document}:\n{result.stdout}{result.stderr}"
                )
            generated.append(
                Generated(
                    service=name,
                    document=document,
                    project=project,
                    package=f"amiable_{name}_client",
                    warnings=result.stderr.strip(),
                )
            )
    return generated
