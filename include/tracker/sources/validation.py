"""Validate decoded API bodies with pydantic; any problem becomes a `MalformedResponseError` naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tracker.http import MalformedResponseError

M = TypeVar("M", bound=BaseModel)


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """('items', 3, 'sha') → 'items[3].sha' (after `prefix`, e.g. 'search.')."""
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "<root>"


def parse(model: type[M], payload: Any, *, source: str, where: str = "") -> M:
    """`model` validated from `payload`; `where` prefixes the field path in the error ('items[2]')."""
    if not isinstance(payload, dict):
        raise MalformedResponseError(where or "<root>", f"expected an object, got {type(payload).__name__}",
                                     source=source)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise MalformedResponseError(field_path(err["loc"], where), err["msg"], source=source) from None
