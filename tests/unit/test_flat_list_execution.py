"""The flat-list executor gives exactly graphql-core's result, data and errors, and takes its
short road only where it may."""

import asyncio
import datetime as dt
import enum
import uuid
from collections.abc import AsyncGenerator
from typing import Optional

import pytest
import strawberry
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig

from graphql_schema import execution
from graphql_schema.execution import FlatListExecutor
from graphql_schema.sync.endpoints import TYPES


@strawberry.interface
class Named:
    name: Optional[str]


@strawberry.type
class Child:
    label: str


@strawberry.enum
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    id: str
    name: Optional[str]
    n: Optional[int]
    f: float
    flag: Optional[bool]
    uid: Optional[strawberry.ID]
    tags: Optional[list[str]] = None
    strict_tags: Optional[list[str]] = None
    color: Optional[Color] = Color.RED
    when: Optional[dt.datetime] = None
    data: Optional[JSON] = None

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
    def item(self, case: str, index: int = 0) -> Optional[Item]:
        return DATA[case][index]

    @strawberry.field
    async def later(self) -> list[Item]:
        return DATA["ok"][:3]

    @strawberry.field
    def people(self) -> list[Person]:
        return [Person(name="a", age=1), Person(name="b", age=None)]

    @strawberry.field
    def uuids(self) -> list[Optional[strawberry.ID]]:
        return [strawberry.ID("x"), None]


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def items(self, case: str) -> AsyncGenerator[Item, None]:
        for item in DATA[case]:
            yield item


PLAIN = strawberry.Schema(query=Query, subscription=Subscription)
FAST = strawberry.Schema(query=Query, subscription=Subscription, execution_context_class=FlatListExecutor)

DATA.update({
    "ok": [_item(i, tags=[f"t{i}", "x"], color=Color.BLUE if i % 3 else Color.RED, when=dt.datetime(2026, 1, 1 + i % 28, tzinfo=dt.timezone.utc), data={"i": i}) for i in range(50)],
    "bad_tags": [_item(0, tags=["a", None, "b"]), _item(1, tags="not a list"), _item(2, tags=[object()])],
    "bad_enum": [_item(0, color="green")],
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
    ('{ items(case: "ok") { id tags color when data } }', {}),
    ('{ item(case: "ok", index: 4) { __typename id tags color when data } }', {}),
    ('{ item(case: "null_in_non_null", index: 1) { id f } }', {}),
    ('{ item(case: "bad_tags", index: 0) { tags } }', {}),
    ('{ item(case: "bad_tags", index: 1) { tags } }', {}),
    ('{ item(case: "bad_tags", index: 2) { tags } }', {}),
    ('{ items(case: "bad_tags") { id tags } }', {}),
    ('{ items(case: "bad_enum") { color } }', {}),
    ('{ later { id name } }', {}),
    ('{ items(case: "ok") { id child { label } } }', {}),
]


def _run(schema: strawberry.Schema, query: str, variables: dict) -> tuple:
    result = asyncio.run(schema.execute(query, variable_values=variables))
    return result.data, [(e.message, e.path) for e in result.errors or []]


def _subscribe(schema: strawberry.Schema, query: str) -> list[tuple]:
    async def collect() -> list[tuple]:
        out = []
        async for result in await schema.subscribe(query):
            out.append((result.data, [(e.message, e.path) for e in result.errors or []]))
        return out

    return asyncio.run(collect())


@pytest.mark.parametrize(("query", "variables"), QUERIES)
def test_same_data_and_errors_as_graphql_core(query: str, variables: dict) -> None:
    assert _run(FAST, query, variables) == _run(PLAIN, query, variables)


@pytest.mark.parametrize("query", [
    'subscription { items(case: "ok") { id name tags color } }',
    'subscription { items(case: "null_in_non_null") { id f } }',
    'subscription { items(case: "bad_tags") { tags } }',
])
def test_subscription_events_same_as_graphql_core(query: str) -> None:
    fast = _subscribe(FAST, query)
    assert fast == _subscribe(PLAIN, query) and fast


@pytest.fixture
def flat_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Lengths of the lists completed in the loop."""
    calls: list[int] = []
    original = execution._complete_flat

    def counting(plan, items, *rest):  # noqa: ANN001, ANN002, ANN202
        calls.append(len(items))
        return original(plan, items, *rest)

    monkeypatch.setattr(execution, "_complete_flat", counting)
    return calls


@pytest.fixture
def row_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Objects completed in the loop (on their own or as list items)."""
    calls: list[int] = []
    original = execution._complete_row

    def counting(*args):  # noqa: ANN002, ANN202
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(execution, "_complete_row", counting)
    return calls


def test_takes_the_short_road_for_flat_lists(flat_calls: list[int], row_calls: list[int]) -> None:
    _run(FAST, '{ items(case: "ok") { __typename id name n f flag uid tags color when data } }', {})
    assert flat_calls == [50] and len(row_calls) == 50


def test_takes_the_short_road_for_a_flat_object_and_subscription_events(row_calls: list[int]) -> None:
    _run(FAST, '{ item(case: "ok") { id tags } }', {})
    assert len(row_calls) == 1
    _subscribe(FAST, 'subscription { items(case: "ok") { id firstName: name tags } }')
    assert len(row_calls) == 51


@pytest.mark.parametrize("query", [
    'subscription { items(case: "ok") { id firstName: name tags } }',
    'subscription { items(case: "ok") { id child { label } } }',  # the item is not flat, its child is
])
def test_subscription_events_reuse_one_plan_and_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch, query: str) -> None:
    builds: list[str] = []
    executors: list[FlatListExecutor] = []
    build_plan, per_event = FlatListExecutor._build_plan, FlatListExecutor.build_per_event_executor

    def counting_build(self, object_type, field_details_list):  # noqa: ANN001, ANN202
        builds.append(object_type.name)
        return build_plan(self, object_type, field_details_list)

    def recording(self, payload):  # noqa: ANN001, ANN202
        executors.append(self)  # the subscription's own executor
        return per_event(self, payload)

    monkeypatch.setattr(FlatListExecutor, "_build_plan", counting_build)
    monkeypatch.setattr(FlatListExecutor, "build_per_event_executor", recording)
    events = _subscribe(FAST, query)
    assert len(events) == 50 and all(not errors for _, errors in events) and events == _subscribe(PLAIN, query)
    assert len(builds) == len(set(builds)), "a plan was built again for a later event"
    subscription = executors[0]
    assert all(e is subscription for e in executors)
    assert len(subscription._flat_plans) == len(builds) and subscription._relevant_sub_fields == {}


def test_a_flat_child_of_a_list_that_is_not(flat_calls: list[int], row_calls: list[int]) -> None:
    data, errors = _run(FAST, '{ items(case: "ok") { id child { label } } }', {})
    assert not errors and data["items"][1]["child"] == {"label": "i1"}
    assert flat_calls == [] and len(row_calls) == 50  # the children, not the items


@pytest.mark.parametrize("query", [
    '{ items(case: "ok") { id computed } }',  # a resolver
    '{ item(case: "ok") { id computed } }',
    '{ people { name } }',  # an interface implementation: is_type_of
])
def test_goes_the_ordinary_way_where_it_must(flat_calls: list[int], row_calls: list[int], query: str) -> None:
    data, errors = _run(FAST, query, {})
    assert not errors and data
    assert flat_calls == [] and row_calls == []


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


@strawberry.type
class Row:
    key: str
    size: Optional[int]


@strawberry.type
class DictQuery:
    @strawberry.field
    def rows(self) -> list[Row]:
        return [{"key": "a", "size": 1}, {"key": "b", "size": None}]  # type: ignore[list-item]


def _by_key(source, name):  # noqa: ANN001, ANN202
    return source[name] if isinstance(source, dict) else getattr(source, name)


def test_a_schema_default_resolver_other_than_getattr_is_used(flat_calls: list[int]) -> None:
    """Fields are read the way the schema's own default resolver reads them (here from dicts),
    not with attribute access, and still in the loop."""
    config = StrawberryConfig(default_resolver=_by_key)
    plain = strawberry.Schema(query=DictQuery, config=config)
    fast = strawberry.Schema(query=DictQuery, config=config, execution_context_class=FlatListExecutor)
    result = _run(fast, "{ rows { key size } }", {})
    assert result == _run(plain, "{ rows { key size } }", {})
    assert result[0] == {"rows": [{"key": "a", "size": 1}, {"key": "b", "size": None}]}
    assert flat_calls == [2]


def test_attribute_reads_are_taken_for_getattr_schemas() -> None:
    fields = FAST._schema.type_map["Item"].fields
    assert isinstance(execution._reader(fields["name"]), type(execution.attrgetter("x")))
    config = StrawberryConfig(default_resolver=_by_key)
    other = strawberry.Schema(query=DictQuery, config=config)
    assert not isinstance(execution._reader(other._schema.type_map["Row"].fields["key"]), type(execution.attrgetter("x")))
