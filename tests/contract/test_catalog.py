"""The event catalog (``amiable docs``): a page per registered type whose example is valid, links
that resolve inside the output, the flow of the five services, the same bytes on every build."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from amiable_cli.catalog import SERVICES, build, versions
from amiable_cli.main import app
from amiable_events.catalog import REGISTRY
from amiable_events.consumers import CONSUMERS
from amiable_events.registry import Registry
from amiable_events.schemas import SCHEMAS_DIR
from tests.contract.test_producers import FORMATS
from tests.factories import PARCEL_UPCASTER, ParcelWeighedV1, ParcelWeighedV2

pytestmark = pytest.mark.contract

FIVE = ("claims", "risk", "dunning", "communications", "disputes")


class Page(HTMLParser):
    """What the tests read of one page: its links, its scripts, its structured-mode line, the
    text of its SVG."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.scripts: list[dict] = []  # {"type", "id", "text"}
        self.lines: list[str] = []  # the text of <pre class="line">
        self.svg_text: list[str] = []
        self._open: list[tuple[str, dict]] = []
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.links += [attributes[name] for name in ("href", "src") if name in attributes]
        if tag == "script":
            self.scripts.append({"type": attributes.get("type"), "id": attributes.get("id")})
            self.scripts[-1]["text"] = ""
        if tag == "pre" and attributes.get("class") == "line":
            self.lines.append("")
        self._open.append((tag, attributes))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        tags = [tag for tag, _ in self._open]
        if tags and tags[-1] == "script":
            self.scripts[-1]["text"] += data
        elif tags and tags[-1] == "pre" and self._open[-1][1].get("class") == "line":
            self.lines[-1] += data
        elif "svg" in tags:
            self.svg_text.append(data.strip())


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("catalog")
    build(out)
    return out


def _page(catalog: Path, ce_type: str) -> Path:
    return catalog / "events" / f"{ce_type}.html"


def test_every_registered_type_has_a_page(catalog):
    pages = {path.name.removesuffix(".html") for path in (catalog / "events").glob("*.html")}

    assert pages == set(REGISTRY.models)


@pytest.mark.parametrize("ce_type", sorted(REGISTRY.models))
def test_each_page_embeds_an_example_of_its_type_that_its_schema_accepts(catalog, ce_type):
    page = Page(_page(catalog, ce_type))
    [embedded] = [s for s in page.scripts if s["id"] == "example-payload"]
    payload = json.loads(embedded["text"])
    [line] = page.lines
    structured = json.loads(line)
    schema = json.loads((SCHEMAS_DIR / f"{ce_type}.json").read_text())
    validator = Draft202012Validator(schema, format_checker=FORMATS)

    problems = [error.message for error in validator.iter_errors(payload)]

    assert embedded["type"] == "application/json"
    assert problems == []
    assert structured["type"] == ce_type
    assert structured["dataschema"] == f"urn:amiable:schema:{ce_type}"
    assert structured["data"] == payload


def test_every_local_link_resolves_to_a_file_of_the_output_and_nothing_is_fetched(catalog):
    pages = sorted(catalog.rglob("*.html"))
    broken, remote, scripts = [], [], []
    for path in pages:
        page = Page(path)
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                remote.append(f"{path.name}: {link}")
            elif not (path.parent / parts.path).resolve().is_file():
                broken.append(f"{path.relative_to(catalog)}: {link}")
        scripts += [s["type"] for s in page.scripts if s["type"] != "application/json"]

    assert len(pages) == len(REGISTRY.models) + 2  # the types, the index and the flow
    assert broken == []
    assert remote == []
    assert scripts == []  # data only: no JavaScript runs


def test_the_flow_page_draws_the_five_services_and_their_edges(catalog):
    page = Page(catalog / "flow.html")
    drawn = set(page.svg_text)

    assert SERVICES == FIVE
    assert set(FIVE) <= drawn
    # communications reads dunning's step-due (it queues the message): an edge, labelled
    assert "dunning → communications" in drawn
    assert any("step-due" in text for text in page.svg_text)


def test_a_page_names_every_service_that_declares_it_reads_the_type(catalog):
    ce_type = "amiable.disputes.dispute-opened.v1"
    text = _page(catalog, ce_type).read_text()
    readers = [service for service in FIVE if ce_type in CONSUMERS[service]]

    assert readers == ["claims", "risk", "dunning", "communications", "disputes"]
    for service in readers:
        assert f"<td>{service}</td>" in text


def test_two_builds_give_the_same_bytes(catalog, tmp_path):
    build(tmp_path)

    first = {p.relative_to(catalog): p.read_bytes() for p in catalog.rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def test_amiable_docs_builds_the_catalog(tmp_path):
    out = tmp_path / "docs"

    result = CliRunner().invoke(app, ["docs", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file()
    assert (out / "schemas" / "asyncapi.yaml").read_bytes() == (
        SCHEMAS_DIR / "asyncapi.yaml"
    ).read_bytes()
    assert f"{len(REGISTRY.models) + 2} pages" in result.output


def test_an_old_version_shows_the_type_and_the_function_that_upcast_it():
    registry = Registry(models=[ParcelWeighedV1, ParcelWeighedV2], upcasters=[PARCEL_UPCASTER])

    old, current = versions(ParcelWeighedV2.type, registry)

    assert (old.ce_type, old.upcast_to) == (ParcelWeighedV1.type, ParcelWeighedV2.type)
    assert old.upcaster == "tests.factories.upcast_parcel_v1_v2"
    assert old.upcaster_doc.startswith("Grams become kilograms")
    assert (current.ce_type, current.upcast_to, current.upcaster) == (
        ParcelWeighedV2.type,
        None,
        None,
    )
    assert versions(ParcelWeighedV1.type, registry) == (old, current)
