"""Event and entity ids.

An event caused by another event gets a deterministic id, so that re-processing after a crash
re-emits the same id and every consumer drops it as already applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import orjson

AMIABLE_NAMESPACE = uuid.UUID("6f1c1d52-3c4e-5b8a-9d27-2a6a1f0b7e11")

NewId = Callable[[], uuid.UUID]


def caused_id(causation_id: uuid.UUID | str, service: str, step: str) -> uuid.UUID:
    """The id of the event that ``service`` emits at ``step`` in reaction to ``causation_id``."""
    return uuid.uuid5(AMIABLE_NAMESPACE, f"{causation_id}/{service}/{step}")


def keyed_id(*parts: str) -> uuid.UUID:
    """A stable id derived from business keys (e.g. tenant + idempotency key).

    The parts are hashed as a JSON array, not joined with a separator: a tenant or a key may
    contain any character, so ``("x/claim", "k")`` and ``("x", "claim/k")`` must not name the
    same id (they did when the parts were joined with ``/``; see docs/events.md).
    """
    return uuid.uuid5(AMIABLE_NAMESPACE, orjson.dumps(parts).decode())


def seeded_ids(seed: int) -> NewId:
    """Deterministic id source for tests and benchmarks."""
    import random

    rng = random.Random(seed)
    return lambda: uuid.UUID(int=rng.getrandbits(128), version=4)


def caused_steps(events) -> list[str]:
    """The step of each of one cause's ``events`` in :func:`caused_id`: its type, then
    ``type#2``, ``type#3``... for the next ones of the same type, so no two share an id."""
    seen: dict[str, int] = {}
    steps = []
    for event in events:
        seen[event.type] = seen.get(event.type, 0) + 1
        n = seen[event.type]
        steps.append(event.type if n == 1 else f"{event.type}#{n}")
    return steps


def timer_event_id(service: str, timer_id: str) -> uuid.UUID:
    """The id of the event that fires ``timer_id`` of ``service``: the same on every re-fire
    (pure, so a domain can name the event a timer of its own appended)."""
    return keyed_id("timer", service, timer_id)
