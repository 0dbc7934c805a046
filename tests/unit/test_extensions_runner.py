"""The operation runner enters every extension's stream hook for every streamed result and
merges every extension's results, as strawberry's own runner does."""

import asyncio
from collections.abc import AsyncGenerator, Iterator

import strawberry
from strawberry.extensions import SchemaExtension

from domain.errors import NotFound
from graphql_schema.errors import ErrorCodes
from graphql_schema.schema import CodedSchema


class Counting(SchemaExtension):
    """Counts stream hook entries and exits and reports them with each result."""

    def __init__(self) -> None:
        self.entered = 0
        self.exited = 0

    def on_stream_result(self, result) -> Iterator[None]:  # noqa: ANN001
        self.entered += 1
        yield
        self.exited += 1

    def get_results(self) -> dict:
        return {"streamHooks": [self.entered, self.exited]}


class Quiet(SchemaExtension):
    """An extension with neither hook."""


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self, fail_at: int = -1) -> AsyncGenerator[int, None]:
        for n in range(3):
            if n == fail_at:
                raise NotFound("customer")
            yield n


def _stream(schema: strawberry.Schema, query: str) -> list:
    async def collect() -> list:
        return [(r.data, [(e.message, e.extensions) for e in r.errors or []], r.extensions) async for r in await schema.subscribe(query)]

    return asyncio.run(collect())


def test_every_streamed_result_enters_the_hooks_and_carries_the_extension_results() -> None:
    for schema_class in (strawberry.Schema, CodedSchema):  # strawberry's runner and ours agree
        schema = schema_class(query=Query, subscription=Subscription, extensions=[Quiet, Counting])
        results = _stream(schema, "subscription { ticks }")
        assert [r[0] for r in results] == [{"ticks": 0}, {"ticks": 1}, {"ticks": 2}]
        # results are built before their hook runs: result n reports n entries and exits
        assert [r[2] for r in results] == [{"streamHooks": [n, n]} for n in range(3)], schema_class


def test_an_error_in_a_later_event_is_coded_through_the_stream_hook() -> None:
    schema = CodedSchema(query=Query, subscription=Subscription, extensions=[ErrorCodes])
    results = _stream(schema, "subscription { ticks(failAt: 2) }")
    assert [r[0] for r in results[:2]] == [{"ticks": 0}, {"ticks": 1}]
    data, errors, _ = results[2]
    assert data is None and errors and errors[0][1]["code"] == "NOT_FOUND"
