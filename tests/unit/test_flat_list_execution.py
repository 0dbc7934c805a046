"""The flat-list executor gives exactly graphql-core's result, data and errors, and takes its
short road only where it may."""

import asyncio
import uuid
from typing import Optional

import pytest
import strawberry

from graphql_schema import execution
from graphql_schema.execution import FlatListExecutor
from graphql_schema.sync.endpoints import TYPES


@strawberry.interface
class Named:
    name: Optional[str]


@strawberry.type
class Child:
    label: str


@strawberry.type
class Item:
    id: str
    name: Optional[str]
    n: Optional[int]
    f: float
    flag: Optional[bool]
    uid: Optional[strawberry.ID]

    @strawberry.field
    def computed(self) -> str:
        return f"c-{self.id}"

    @strawberry.field
    def child(self) -> Child:
        return Child(label=self.id)


@strawberry.type
class Person(Named):
    age: Optional[int]


def _item(i: int, **over) -> Item:  # noqa: ANN003
    values = dict(id=f"i{i}", name=f"name {i}", n=i, f=i / 2, flag=i % 2 == 0, uid=strawberry.ID(str(uuid.UUID(int=i))))
    values.update(over)
    return Item(**values)


DATA: dict[str, list] = {}


@strawberry.type
class Query:
    @strawberry.field
    def items(self, case: str) -> list[Item]:
        return DATA[case]

    @strawberry.field
    def maybe_items(self, case: str) -> Optional[list[Optional[Item]]]:
        return DATA[case]

    @strawberry.field
    def people(self) -> list[Person]:
        return [Person(name="a", age=1), Person(name="b", age=None)]

    @strawberry.field
    def uuids(self) -> list[Optional[strawberry.ID]]:
        return [strawberry.ID("x"), None]


PLAIN = strawberry.Schema(query=Query)
FAST = strawberry.Schema(query=Query, execution_context_class=FlatListExecutor)

DATA.update({
    "ok": [_item(i) for i in range(50)],
    "null_in_non_null": [_item(0), _item(1, f=None), _item(2)],
    "null_in_nullable": [_item(0, name=None, n=None, uid=None)],
    "refused_value": [_item(0), _item(1, n="not a number")],
    "int_as_string": [_item(0, name=7)],
    "builtin_refused": [_item(0, name=["a list"])],
    "null_item": [_item(0), None, _item(2)],
    "empty": [],
})

QUERIES = [
    ('{ items(case: "ok") { id name n f flag uid } }', {}),
    ('{ items(case: "ok") { __typename a: id b: name id } }', {}),
    ('query($s: Boolean!) { items(case: "ok") { id name @skip(if: $s) n @include(if: $s) } }', {"s": True}),
    ('query($s: Boolean!) { items(case: "ok") { id name @skip(if: $s) n @include(if: $s) } }', {"s": False}),
    ('{ items(case: "ok") { ...F } } fragment F on Item { id f }', {}),
    ('{ items(case: "ok") { id computed } }', {}),
    ('{ items(case: "ok") { id child { label } } }', {}),
    ('{ items(case: "null_in_non_null") { id f } }', {}),
    ('{ maybeItems(case: "null_in_non_null") { id f } }', {}),
    ('{ items(case: "null_in_nullable") { id name n uid } }', {}),
    ('{ items(case: "refused_value") { id n } }', {}),
    ('{ maybeItems(case: "refused_value") { id n } }', {}),
    ('{ items(case: "int_as_string") { name } }', {}),
    ('{ items(case: "builtin_refused") { name } }', {}),
    ('{ items(case: "null_item") { id } }', {}),
    ('{ maybeItems(case: "null_item") { id } }', {}),
    ('{ items(case: "empty") { id } }', {}),
    ('{ people { name age } }', {}),
    ('{ uuids }', {}),
]


def _run(schema: strawberry.Schema, query: str, variables: dict) -> tuple:
    result = asyncio.run(schema.execute(query, variable_values=variables))
    return result.data, [(e.message, e.path) for e in result.errors or []]


@pytest.mark.parametrize(("query", "variables"), QUERIES)
def test_same_data_and_errors_as_graphql_core(query: str, variables: dict) -> None:
    assert _run(FAST, query, variables) == _run(PLAIN, query, variables)


@pytest.fixture
def flat_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = execution._complete_flat

    def counting(plan, items, item_type):  # noqa: ANN001, ANN202
        calls.append(len(items))
        return original(plan, items, item_type)

    monkeypatch.setattr(execution, "_complete_flat", counting)
    return calls


def test_takes_the_short_road_for_flat_lists(flat_calls: list[int]) -> None:
    _run(FAST, '{ items(case: "ok") { __typename id name n f flag uid } }', {})
    assert flat_calls == [50]


@pytest.mark.parametrize("query", [
    '{ items(case: "ok") { id computed } }',  # a resolver
    '{ items(case: "ok") { id child { label } } }',  # a nested object
    '{ people { name } }',  # an interface implementation: is_type_of
])
def test_goes_the_ordinary_way_where_it_must(flat_calls: list[int], query: str) -> None:
    data, errors = _run(FAST, query, {})
    assert not errors and data
    assert flat_calls == []


def test_a_sync_page_of_customer_documents_is_flat(flat_calls: list[int]) -> None:
    t = TYPES["Customer"]
    doc_fields = [f for f in t.wire_to_attr if f not in ("id", "updatedAt", "deleted")]

    class Page:
        documents = [{"id": str(uuid.uuid4()), "updatedAt": float(i), "deleted": False, **{f: None for f in doc_fields}, "firstName": f"n{i}"} for i in range(20)]

        class checkpoint:  # noqa: N801
            id = "x"
            seq = 19

    @strawberry.type
    class SyncQuery:
        @strawberry.field
        def pull(self) -> t.PullBulk:
            return t.bulk(Page)

    selection = " ".join(["id", "updatedAt", "deleted", *doc_fields])
    query = f"{{ pull {{ documents {{ {selection} }} checkpoint {{ id updatedAt }} }} }}"
    fast = _run(strawberry.Schema(query=SyncQuery, execution_context_class=FlatListExecutor), query, {})
    plain = _run(strawberry.Schema(query=SyncQuery), query, {})
    assert fast == plain and not fast[1]
    assert flat_calls == [20]
    assert fast[0]["pull"]["documents"][3]["firstName"] == "n3"
