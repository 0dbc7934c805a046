"""The GraphQL HTTP and WebSocket endpoint: strawberry's Litestar controller plus connection
auth and persisted queries."""

from __future__ import annotations

from typing import Any

import msgspec
from graphql.error import GraphQLError
from litestar import Response
from litestar.background_tasks import BackgroundTasks
from litestar.di import Provide
from strawberry.exceptions import ConnectionRejectionError
from strawberry.litestar import make_graphql_controller
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from domain.errors import DomainError
from clienteling.metrics import GRAPHQL_OPERATIONS, BoundedNames
from graphql_schema.context import GraphQLContext
from graphql_schema.persisted import PersistedQueries, PersistedQueryError

__all__ = ["build_graphql_controller"]


# strawberry encodes every HTTP response and WebSocket message with ``json.dumps``; a sync
# pull page of 2,000 documents spent about a tenth of the server's time there (bench W5
# profile). msgspec writes the same JSON (compact, UTF-8 instead of ASCII escapes) several
# times faster, and answers ``null`` for a non-finite float instead of invalid JSON.
_json = msgspec.json.Encoder()


async def _response_getter() -> Response:
    """strawberry's own provider of the per-request response (its headers and cookies) is
    ``Provide(..., sync_to_thread=True)``: a thread-pool round trip on every GraphQL request
    to build an empty response. The same response, built on the event loop."""
    return Response({}, background=BackgroundTasks([]))


def _declared_names(queries: Any) -> set[str]:
    """Operation names declared by the allow-listed documents."""
    from graphql import OperationDefinitionNode, parse

    names: set[str] = set()
    for text in queries:
        try:
            document = parse(text)
        except Exception:  # noqa: BLE001 - an allow-listed document that does not parse never runs
            continue
        names.update(d.name.value for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name)
    return names


def build_graphql_controller(schema: Any, context_getter: Any, *, graphiql: bool, persisted: PersistedQueries, tracing: Any = None) -> type:
    # Operation names are chosen by clients: the allow-listed operations' names always get
    # their own label, other well-formed ones until 100 distinct names have been seen in
    # this process, the rest "other": no personal data, bounded cardinality.
    operation_names = BoundedNames(_declared_names((persisted.allowlist or {}).values()), cap=100)
    Base = make_graphql_controller(
        schema,
        path="/graphql",
        context_getter=context_getter,
        graphql_ide="graphiql" if graphiql else None,
        keep_alive=True,
        keep_alive_interval=25,
    )

    class GraphQLController(Base):  # type: ignore[misc, valid-type]
        dependencies = {**Base.dependencies, "response": Provide(_response_getter)}  # noqa: RUF012

        def encode_json(self, data: object) -> bytes:
            return _json.encode(data)

        async def on_ws_connect(self, context: GraphQLContext):  # noqa: ANN201
            """Refuse a bad token at connection_init (close 4403): an error inside a
            subscription reaches the stock RxDB client as data: null and crashes it."""
            try:
                await context.principal()
            except DomainError:
                raise ConnectionRejectionError() from None
            return UNSET

        async def execute_single(self, request, request_adapter, sub_response, context, root_value, request_data):  # noqa: ANN001, ANN201, PLR0917
            try:
                request_data.query = persisted.resolve(request_data.query, request_data.extensions)
            except PersistedQueryError as exc:
                return ExecutionResult(data=None, errors=[GraphQLError(exc.message, extensions={"code": exc.code})])
            kind = (request_data.query or "").lstrip().split(" ", 1)[0].split("{", 1)[0] or "query"
            kind = kind if kind in ("query", "mutation", "subscription") else "query"
            name = operation_names.label(request_data.operation_name)
            try:
                if tracing is None:
                    result = await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)
                else:
                    with tracing.span(f"graphql.{kind} {name}", {"graphql.operation.type": kind, "graphql.operation.name": name}):
                        result = await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)
            finally:
                context.release()  # the result is complete: free what the loaders cached now
            GRAPHQL_OPERATIONS.labels(kind, name, "error" if result.errors else "ok").inc()
            return result

    return GraphQLController
