"""The root schema: areas merged, caches and limits on, errors coded."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types

from graphql_schema.alerts.subscriptions import AlertSubscriptions
from graphql_schema.client_books.mutations import ClientBookMutations
from graphql_schema.client_books.queries import ClientBookQueries
from graphql_schema.consents.mutations import ConsentMutations
from graphql_schema.consents.queries import ConsentQueries
from graphql_schema.customers.mutations import CustomerMutations
from graphql_schema.customers.queries import CustomerQueries
from graphql_schema.data_subject.resolvers import DataSubjectMutations, DataSubjectQueries
from graphql_schema.errors import ErrorCodes, tag_pre_execution_errors
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


class CodedSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:  # noqa: ANN001
        # strawberry's default logs every error message, and validation messages can quote
        # input values (personal data). Unexpected errors are logged by ErrorCodes instead.
        tag_pre_execution_errors(errors)


def build_schema() -> strawberry.Schema:
    return CodedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            ErrorCodes,
            ParserCache,
            ValidationCache,
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            lambda: MaxTokensLimiter(max_token_count=2000),
        ],
    )
