"""The root schema: areas merged, caches and limits on, errors coded."""

from __future__ import annotations

from collections.abc import Iterator

import strawberry
from strawberry.extensions import AddValidationRules, DisableIntrospection, MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.extensions import SchemaExtension
from strawberry.tools import merge_types
from strawberry.types.graphql import OperationType

from clienteling.services import customer_rows

from graphql_schema.alerts.subscriptions import AlertSubscriptions
from graphql_schema.client_books.mutations import ClientBookMutations
from graphql_schema.client_books.queries import ClientBookQueries
from graphql_schema.consents.mutations import ConsentMutations
from graphql_schema.consents.queries import ConsentQueries
from graphql_schema.customers.mutations import CustomerMutations
from graphql_schema.customers.queries import CustomerQueries
from graphql_schema.data_subject.resolvers import DataSubjectMutations, DataSubjectQueries
from graphql_schema.cost import DEFAULT_MAX_COST, QueryCostLimiter
from graphql_schema.errors import ErrorCodes, tag_pre_execution_errors
from graphql_schema.execution import FlatListExecutor
from graphql_schema.extensions_runner import OperationExtensionsRunner
from graphql_schema.permissions.resolvers import PermissionMutations, PermissionQueries
from graphql_schema.staff.queries import StaffQueries
from graphql_schema.sync.endpoints import SyncMutations, SyncQueries, SyncSubscriptions
from graphql_schema.workflows.mutations import WorkflowMutations
from graphql_schema.workflows.queries import WorkflowQueries

__all__ = ["build_schema", "MAX_DEPTH"]

MAX_DEPTH = 10

Query = merge_types("Query", (StaffQueries, CustomerQueries, PermissionQueries, DataSubjectQueries, ConsentQueries, WorkflowQueries, ClientBookQueries, SyncQueries))
Mutation = merge_types("Mutation", (CustomerMutations, PermissionMutations, DataSubjectMutations, ConsentMutations, WorkflowMutations, ClientBookMutations, SyncMutations))
Subscription = merge_types("Subscription", (AlertSubscriptions, SyncSubscriptions))


class OneReadPerQuery(SchemaExtension):
    """A query operation reads each customer row and consent ledger once, however many of
    its fields need them (``clienteling.services.customer_rows``); mutations and
    subscriptions always read afresh."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None and not ctx.pre_execution_errors and ctx.operation_type is OperationType.QUERY:
            with customer_rows.one_read():
                yield
        else:
            yield


class CodedSchema(strawberry.Schema):
    def create_extensions_runner(self, execution_context, extensions):  # noqa: ANN001, ANN201
        return OperationExtensionsRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(self, errors, execution_context=None) -> None:  # noqa: ANN001
        # strawberry's default logs every error message, and validation messages can quote
        # input values (personal data). Unexpected errors are logged by ErrorCodes instead.
        tag_pre_execution_errors(errors)


# Built once and shared: a QueryDepthLimiter or MaxAliasesLimiter made per request creates new
# rule classes, which are part of ValidationCache's key, so every request missed the cache and
# re-validated the whole document (bench/REPORT.md, W1 profile).
_LIMIT_RULES = [*QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules, *MaxAliasesLimiter(max_alias_count=30).validation_rules]


def build_schema(*, introspection: bool = True, max_cost: int = DEFAULT_MAX_COST) -> strawberry.Schema:
    """The schema with its limits; ``introspection=False`` refuses ``__schema``/``__type``
    (CLIENTELING_GRAPHQL_INTROSPECTION=false in production)."""
    return CodedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=FlatListExecutor,
        extensions=[
            ErrorCodes,
            ParserCache,
            ValidationCache,
            lambda: AddValidationRules(_LIMIT_RULES),
            lambda: MaxTokensLimiter(max_token_count=2000),
            lambda: QueryCostLimiter(max_cost=max_cost),  # after ValidationCache: prices valid documents
            OneReadPerQuery,
            *([] if introspection else [DisableIntrospection]),
        ],
    )
