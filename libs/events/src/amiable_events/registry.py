"""From ``ce_type`` to payload model, with upcasters applied on read.

Old versions stay in the log untouched; a reader always gets the newest model of an event.
Readers are tolerant: a field they do not know yet (an optional field a newer producer added,
a compatible change) is ignored, so a rolling deploy never sends good events to the DLQ.
Writers stay strict (``extra="forbid"``) so no field is ever emitted without a schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from amiable_events.base import Event

UpcastFn = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Upcaster:
    """Turns the JSON of ``from_type`` into the JSON of ``to_type``."""

    from_type: str
    to_type: str
    upcast: UpcastFn


class UnknownEventType(KeyError):
    pass


class Registry:
    def __init__(self, models: Iterable[type[Event]], upcasters: Iterable[Upcaster] = ()) -> None:
        self._models: dict[str, type[Event]] = {}
        for model in models:
            if model.type in self._models:
                raise ValueError(f"event type {model.type} registered twice")
            self._models[model.type] = model
        self._upcasters: dict[str, Upcaster] = {}
        for upcaster in upcasters:
            if upcaster.to_type not in self._models:
                raise ValueError(f"upcaster targets unregistered type {upcaster.to_type}")
            self._upcasters[upcaster.from_type] = upcaster

    @property
    def models(self) -> dict[str, type[Event]]:
        return dict(self._models)

    @property
    def upcasters(self) -> dict[str, Upcaster]:
        """Each old ``ce_type`` and the upcaster that reads it as the next version."""
        return dict(self._upcasters)

    def knows(self, ce_type: str) -> bool:
        return ce_type in self._models or ce_type in self._upcasters

    def current_type(self, ce_type: str) -> str:
        seen = set()
        while ce_type in self._upcasters:
            if ce_type in seen:
                raise ValueError(f"upcaster cycle at {ce_type}")
            seen.add(ce_type)
            ce_type = self._upcasters[ce_type].to_type
        return ce_type

    def load(self, ce_type: str, payload: bytes) -> Event:
        """Validate ``payload`` as ``ce_type``, upcasting it to the newest version first."""
        if ce_type not in self._upcasters:
            model = self._models.get(ce_type)
            if model is None:
                raise UnknownEventType(ce_type)
            return model.model_validate_json(payload, extra="ignore")
        import orjson

        data = orjson.loads(payload)
        while ce_type in self._upcasters:
            upcaster = self._upcasters[ce_type]
            data = upcaster.upcast(data)
            ce_type = upcaster.to_type
        return self._models[ce_type].model_validate(data, extra="ignore")
