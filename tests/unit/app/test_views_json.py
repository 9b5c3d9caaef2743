"""Views turn into JSON-native data as `dataclasses.asdict` would shape them, without its copy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from app.views import JsonView, jsonable

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
ID = UUID("12345678-1234-5678-1234-567812345678")


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Inner:
    at: datetime
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Outer(JsonView):
    id: UUID
    inner: Inner
    inners: list[Inner]
    by_name: dict[Any, Any]
    colour: Colour
    nothing: None = None
    data: dict[str, Any] = field(default_factory=dict)


def a_view() -> Outer:
    inner = Inner(at=AT, tags=("a", "b"))
    return Outer(
        id=ID,
        inner=inner,
        inners=[inner, Inner(at=AT, tags=())],
        by_name={"x": inner, 1: [AT, {"deep": ID}]},
        colour=Colour.RED,
        data={"at": AT, "list": [1, 2.5, "three", None, True]},
    )


def test_a_view_is_what_asdict_then_jsonable_made_of_it() -> None:
    view = a_view()

    assert view.as_dict() == jsonable(asdict(view))


def test_nested_views_dates_and_ids_become_json_native() -> None:
    shaped = a_view().as_dict()

    assert shaped["id"] == str(ID)
    assert shaped["inner"] == {"at": AT.isoformat(), "tags": ["a", "b"]}
    assert shaped["by_name"]["1"] == [AT.isoformat(), {"deep": str(ID)}]
    assert shaped["by_name"]["x"]["tags"] == ["a", "b"]
    assert shaped["colour"] == "red"
    assert shaped["data"]["list"] == [1, 2.5, "three", None, True]


def test_the_view_is_left_as_it_was() -> None:
    view = a_view()
    shaped = view.as_dict()

    shaped["data"]["list"].append("more")
    shaped["inner"]["tags"].append("c")

    assert view.data["list"] == [1, 2.5, "three", None, True]
    assert view.inner.tags == ("a", "b")
