"""The GraphQL HTTP and WebSocket endpoint: strawberry's Litestar controller plus connection
auth and persisted queries."""

from __future__ import annotations

from typing import Any

from graphql.error import GraphQLError
from strawberry.exceptions import ConnectionRejectionError
from strawberry.litestar import make_graphql_controller
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from domain.errors import DomainError
from clienteling.metrics import GRAPHQL_OPERATIONS
from graphql_schema.context import GraphQLContext
from graphql_schema.persisted import PersistedQueries, PersistedQueryError

__all__ = ["build_graphql_controller"]


def _operation_label(name: str | None) -> str:
    """Operation names are chosen by clients: keep well-formed short names, bucket the rest,
    so a client cannot put personal data or unbounded cardinality into the metrics."""
    if name and len(name) <= 64 and name.isidentifier():
        return name
    return "anonymous" if not name else "other"


def build_graphql_controller(schema: Any, context_getter: Any, *, graphiql: bool, persisted: PersistedQueries) -> type:
    Base = make_graphql_controller(
        schema,
        path="/graphql",
        context_getter=context_getter,
        graphql_ide="graphiql" if graphiql else None,
        keep_alive=True,
        keep_alive_interval=25,
    )

    class GraphQLController(Base):  # type: ignore[misc, valid-type]
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
            result = await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)
            kind = (request_data.query or "").lstrip().split(" ", 1)[0].split("{", 1)[0] or "query"
            GRAPHQL_OPERATIONS.labels(
                kind if kind in ("query", "mutation", "subscription") else "query",
                _operation_label(request_data.operation_name),
                "error" if result.errors else "ok",
            ).inc()
            return result

    return GraphQLController
