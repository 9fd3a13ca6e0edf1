"""The event catalog (``amiable docs --out DIR``, ``make docs``): static HTML for the teams that
read our events.

From the committed contract (``libs/events/schemas/``: one JSON Schema per ``ce_type`` and the
AsyncAPI document), the registry (``amiable_events.catalog``), the event models' docstrings,
who consumes what (``amiable_events.consumers``) and one realistic envelope per type
(``amiable_demo.samples.examples``), it writes:

- ``index.html``: every type by context, with its meaning, emitter and consumers;
- ``events/<ce_type>.html``: one page per type: meaning, emitter, subject and key, fields, a
  full example (binary-mode headers, key, payload; the structured-mode line), versions, and
  the fields each consumer reads; the example payload is embedded once as
  ``<script type="application/json" id="example-payload">`` for tools and tests;
- ``flow.html``: the flow between the services, drawn as inline SVG on a fixed layout, and as
  tables;
- ``catalog.css`` and ``schemas/`` (copies of the committed schemas and ``asyncapi.yaml``).

No JavaScript, nothing fetched from the network, and the same inputs give the same bytes (no
build time in any page), so the output can be served as plain files from anywhere.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from amiable_demo.ndjson import to_line
from amiable_events.base import Event
from amiable_events.catalog import CONTEXTS, REGISTRY
from amiable_events.consumers import CONSUMERS, Reads
from amiable_events.envelope import Envelope, encode
from amiable_events.registry import Registry
from amiable_events.schemas import ASYNCAPI_FILE, SCHEMAS_DIR

TEMPLATES = Path(__file__).parent / "templates" / "catalog"
STYLESHEET = "catalog.css"
#: The services in the order the pages show them: one per context, the context's emitter.
SERVICES: tuple[str, ...] = tuple(CONTEXTS)
#: An example value longer than this is cut in the fields table (sealed tokens are long).
EXAMPLE_WIDTH = 48

#: What an event is about, by the prefix of its subject (docs/events.md), and its key then.
SUBJECTS = {
    "debtor:": ("a debtor account", "debtor:<debtor_id>", "<tenant>:<debtor_id>"),
    "tenant:": ("a tenant", "tenant:<tenant>", "<tenant>:"),
}
CLAIM_SUBJECT = ("a claim", "the claim id", "<tenant>:<debtor_id>")


@dataclass(frozen=True)
class Field:
    path: str
    type: str
    required: bool
    nullable: bool
    description: str
    personal: bool
    example: str


@dataclass(frozen=True)
class Consumer:
    service: str
    reads: Reads


@dataclass(frozen=True)
class EventType:
    ce_type: str
    name: str  # the model's class name
    context: str
    emitter: str
    meaning: str  # the docstring's first sentence
    docstring: str
    others: tuple[str, ...]  # what other services do with it, from its module's docstring
    about: tuple[str, str, str]  # (what, subject, key)
    fields: tuple[Field, ...]
    headers: tuple[tuple[str, str], ...]
    key: str
    payload: str  # pretty JSON
    payload_embedded: Markup  # compact JSON, safe inside <script>
    line: str  # structured mode, one NDJSON line
    versions: tuple[Version, ...]
    consumers: tuple[Consumer, ...]

    @property
    def page(self) -> str:
        return f"events/{self.ce_type}.html"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    types: tuple[str, ...]


def build(out: Path, examples: Mapping[str, Envelope] | None = None) -> list[Path]:
    """Write the catalog into ``out``; the files written, in order. ``examples``: one envelope
    per registered ``ce_type`` (default: ``amiable_demo.samples.examples()``)."""
    if examples is None:
        from amiable_demo.samples import examples as sample_examples

        examples = sample_examples()
    missing = sorted(set(REGISTRY.models) - set(examples))
    if missing:
        raise ValueError(f"no example for {', '.join(missing)}")
    events = [_event_type(ce_type, examples[ce_type]) for ce_type in sorted(REGISTRY.models)]
    edges = flow_edges()
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code_spans"] = code_spans
    by_context = {context: [e for e in events if e.context == context] for context in CONTEXTS}
    pages = {
        "index.html": env.get_template("index.html").render(
            root="", by_context=by_context, services=SERVICES, asyncapi=ASYNCAPI_FILE
        ),
        "flow.html": env.get_template("flow.html").render(
            root="",
            asyncapi=ASYNCAPI_FILE,
            services=SERVICES,
            edges=edges,
            svg=Markup(flow_svg(edges)),
            pages={e.ce_type: e.page for e in events},
        ),
    }
    for event in events:
        pages[event.page] = env.get_template("event.html").render(
            root="../", event=event, asyncapi=ASYNCAPI_FILE
        )
    written = []
    (out / "events").mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        written.append(_write(out / name, text.encode()))
    written.append(_write(out / STYLESHEET, (TEMPLATES / STYLESHEET).read_bytes()))
    (out / "schemas").mkdir(exist_ok=True)
    for name in [ASYNCAPI_FILE, *(f"{ce_type}.json" for ce_type in sorted(REGISTRY.models))]:
        target = out / "schemas" / name
        shutil.copyfile(SCHEMAS_DIR / name, target)
        written.append(target)
    return written


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- One event type ----------------------------------------------------------------------------


def _context_of(model: type[Event]) -> str:
    return next(context for context, events in CONTEXTS.items() if model in events)


def _event_type(ce_type: str, example: Envelope) -> EventType:
    model = REGISTRY.models[ce_type]
    if example.type != ce_type:
        raise ValueError(f"the example for {ce_type} is a {example.type}")
    schema = json.loads((SCHEMAS_DIR / f"{ce_type}.json").read_text())
    key, value, headers = encode(example)
    payload = json.loads(value)
    docstring = inspect.cleandoc(model.__doc__ or "")
    compact = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return EventType(
        ce_type=ce_type,
        name=model.__name__,
        context=_context_of(model),
        emitter=model.source,
        meaning=first_sentence(docstring),
        docstring=docstring,
        others=what_others_do(model),
        about=_about(example.subject),
        fields=tuple(fields(schema, payload)),
        headers=tuple((name, raw.decode()) for name, raw in headers),
        key=key.decode(),
        payload=json.dumps(payload, indent=2, ensure_ascii=False),
        payload_embedded=Markup(_script_safe(compact)),
        line=to_line(example).decode(),
        versions=versions(ce_type),
        consumers=tuple(
            Consumer(service, CONSUMERS[service][ce_type])
            for service in SERVICES
            if ce_type in CONSUMERS.get(service, {})
        ),
    )


def _script_safe(text: str) -> str:
    """JSON that cannot close or open anything inside a ``<script>`` element (same value)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def first_sentence(docstring: str) -> str:
    """The docstring's first sentence (its first paragraph when no full stop ends one)."""
    paragraph = " ".join(docstring.split("\n\n", 1)[0].split())
    # a full stop before a capital or the end: "GDPR Art. 22" is not an end
    found = re.match(r"(.+?\.)(?=\s+[A-Z]|$)", paragraph)
    return found.group(1) if found else paragraph


def what_others_do(model: type[Event]) -> tuple[str, ...]:
    """The bullets of the model's module docstring, under "What other services do with them",
    that name the model (``Name``)."""
    module = inspect.getmodule(model)
    text = inspect.cleandoc((module.__doc__ if module else None) or "")
    _, found, rest = text.partition("What other services do with them:")
    if not found:
        return ()
    bullets = re.split(r"\n(?=- )", rest.strip())
    named = f"``{model.__name__}``"
    return tuple(
        " ".join(bullet.removeprefix("- ").split()) for bullet in bullets if named in bullet
    )


def code_spans(text: str) -> Markup:
    """``text`` escaped, its reST literals (````name````) as ``<code>``."""
    return Markup(re.sub(r"``(.+?)``", r"<code>\1</code>", str(escape(text))))


def _about(subject: str) -> tuple[str, str, str]:
    for prefix, about in SUBJECTS.items():
        if subject.startswith(prefix):
            return about
    return CLAIM_SUBJECT


@dataclass(frozen=True)
class Version:
    ce_type: str
    #: the next version readers upcast it to, by which function (None: the current version)
    upcast_to: str | None = None
    upcaster: str | None = None  # module.function
    upcaster_doc: str = ""


def versions(ce_type: str, registry: Registry = REGISTRY) -> tuple[Version, ...]:
    """Every registered version of the event of ``ce_type``, oldest first, each with the
    upcaster that reads it as the next one."""
    name = ce_type.rsplit(".v", 1)[0]
    found = [t for t in registry.models if t.rsplit(".v", 1)[0] == name]
    found.sort(key=lambda t: int(t.rsplit(".v", 1)[1]))
    upcasters = registry.upcasters
    return tuple(
        Version(t)
        if t not in upcasters
        else Version(
            t,
            upcasters[t].to_type,
            f"{upcasters[t].upcast.__module__}.{upcasters[t].upcast.__qualname__}",
            inspect.getdoc(upcasters[t].upcast) or "",
        )
        for t in found
    )


# --- Fields ------------------------------------------------------------------------------------


def _resolve(root: dict, node: dict) -> dict:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _alternatives(node: dict) -> list[dict]:
    """The non-null alternatives of ``node``, unresolved."""
    return [b for b in node.get("anyOf", [node]) if b.get("type") != "null"]


def _branches(root: dict, node: dict) -> tuple[list[dict], bool]:
    """The non-null alternatives of ``node`` (resolved) and whether it may be null."""
    node = _resolve(root, node)
    branches = [_resolve(root, b) for b in node.get("anyOf", [node])]
    nullable = any(b.get("type") == "null" for b in branches)
    return [b for b in branches if b.get("type") != "null"], nullable


def type_text(root: dict, node: dict) -> str:
    branches, _ = _branches(root, node)
    return " or ".join(_one_type(root, branch) for branch in branches) or "null"


def _one_type(root: dict, node: dict) -> str:
    if "const" in node:
        return f"constant {json.dumps(node['const'])}"
    if "enum" in node:
        return "one of " + ", ".join(str(value) for value in node["enum"])
    kind = node.get("type")
    if kind == "array":
        return f"array of {type_text(root, node.get('items', {}))}"
    if kind == "object" or "properties" in node:
        return f"object ({node['title']})" if "title" in node and "properties" in node else "object"
    if kind is None:
        return "any"
    text = kind if isinstance(kind, str) else " or ".join(kind)
    if "format" in node:
        text += f" ({node['format']})"
    if "pattern" in node and node.get("x-amiable-personal-data"):
        text += " (pii:v1: token)"
    return text


def _example_text(value: Any, present: bool) -> str:
    if not present:
        return ""
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        return f"[{len(value)} item{'' if len(value) == 1 else 's'}]"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= EXAMPLE_WIDTH else text[: EXAMPLE_WIDTH - 1] + "…"


def fields(schema: dict, payload: Any) -> list[Field]:
    """Every field of ``schema``, depth first, in the payload's order (then the schema's), each
    with the example's value (an array's first item stands for its items)."""
    rows: list[Field] = []

    def walk(node: dict, prefix: str, values: Any, seen: frozenset[str]) -> None:
        ref = node.get("$ref")
        if ref in seen:
            return  # a recursive definition: described once, where it first appears
        seen = seen | {ref} if ref else seen
        node = _resolve(schema, node)
        properties = node.get("properties", {})
        values = values if isinstance(values, dict) else {}
        order = [name for name in values if name in properties]
        order += [name for name in properties if name not in values]
        for name in order:
            prop = properties[name]
            branches, nullable = _branches(schema, prop)
            personal = any(b.get("x-amiable-personal-data") for b in [prop, *branches])
            description = prop.get("description") or next(
                (b["description"] for b in branches if "description" in b), ""
            )
            path = f"{prefix}{name}"
            rows.append(
                Field(
                    path=path,
                    type=type_text(schema, prop),
                    required=name in node.get("required", ()),
                    nullable=nullable,
                    description=description,
                    personal=personal,
                    example=_example_text(values.get(name), name in values),
                )
            )
            for branch in _alternatives(prop):
                resolved = _resolve(schema, branch)
                if resolved.get("type") == "array":
                    first = (values.get(name) or [None])[0]
                    for item in _alternatives(resolved.get("items", {})):
                        walk(item, f"{path}[].", first, seen)
                else:
                    walk(branch, f"{path}.", values.get(name), seen)

    walk(schema, "", payload, frozenset())
    return rows


# --- The flow between the services -------------------------------------------------------------


def flow_edges() -> list[Edge]:
    """Source service -> consuming service, with the types the consumer reads from it (a
    service's own events included), in the services' order."""
    types: dict[tuple[str, str], list[str]] = defaultdict(list)
    for target in SERVICES:
        for ce_type in sorted(CONSUMERS.get(target, {})):
            types[REGISTRY.models[ce_type].source, target].append(ce_type)
    return [
        Edge(source, target, tuple(types[source, target]))
        for source in SERVICES
        for target in SERVICES
        if (source, target) in types
    ]


def short(ce_type: str) -> str:
    """``amiable.claims.claim-registered.v1`` -> ``claim-registered``"""
    return ce_type.split(".")[2]


LANE = 230  # px between two services' lanes
TOP = 150  # where the first edge row starts
LINE = 14  # px per label line
CHARS_PER_LANE = 34  # label characters that fit in one lane's width


def _wrapped(names: list[str], width: int) -> list[str]:
    lines, line = [], ""
    for name in names:
        candidate = f"{line}, {name}" if line else name
        if line and len(candidate) > width:
            lines.append(line + ",")
            line = name
        else:
            line = candidate
    return [*lines, line] if line else lines


def flow_svg(edges: list[Edge]) -> str:
    """The services as lanes, HTTP clients above them, and one row per edge between two
    services: an arrow from the source's lane to the target's, the types above it. A fixed
    layout, computed here: the same edges give the same drawing."""
    x = {service: 40 + LANE // 2 + i * LANE for i, service in enumerate(SERVICES)}
    width = 80 + LANE * len(SERVICES)
    rows, y = [], TOP
    for edge in (e for e in edges if e.source != e.target):
        span = abs(x[edge.target] - x[edge.source]) // LANE
        lines = _wrapped([short(t) for t in edge.types], CHARS_PER_LANE * span)
        rows.append((edge, lines, y))
        y += LINE * len(lines) + 30
    height = y + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        'aria-labelledby="flow-title"><title id="flow-title">The flow between the services'
        "</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        "</defs>",
        f'<rect class="clients" x="{width // 2 - 110}" y="8" width="220" height="30" rx="4"/>',
        f'<text class="box" x="{width // 2}" y="28">HTTP clients (other teams, UIs)</text>',
    ]
    for service in SERVICES:
        out += [
            f'<path class="http" d="M{width // 2},38 L{x[service]},80" marker-end="url(#arrow)"/>',
            f'<rect class="service" x="{x[service] - 80}" y="82" width="160" height="32" rx="4"/>',
            f'<text class="box" x="{x[service]}" y="103">{service}</text>',
            f'<path class="lane" d="M{x[service]},114 L{x[service]},{height - 6}"/>',
        ]
    for edge, lines, top in rows:
        left = min(x[edge.source], x[edge.target])
        arrow_y = top + LINE * len(lines) + 8
        start, end = x[edge.source], x[edge.target]
        step = 4 if end > start else -4
        out.append(
            f'<path class="edge" d="M{start + step},{arrow_y} L{end - step},{arrow_y}" '
            'marker-end="url(#arrow)"/>'
        )
        out.append(
            f'<text class="edge-head" x="{left + 8}" y="{top + 2}">'
            f"{edge.source} → {edge.target}</text>"
        )
        for i, line in enumerate(lines):
            out.append(
                f'<text class="types" x="{left + 8}" y="{top + LINE * (i + 1) + 2}">{line}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"
