"""Total cost limit for GraphQL operations: list sizes multiply.

Depth and alias limits stop deep or wide documents, but not a shallow one that asks for 200
customers with 200 purchases each. Before validation, each operation is priced: every field
costs 1, and a field with a page-size argument (``first``, ``limit``, ``last``) multiplies the
cost of its selection by that size (the literal, the variable's value, or the argument's
default). An operation above the limit is refused with ``GRAPHQL_VALIDATION_FAILED`` before
any resolver runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

__all__ = ["DEFAULT_MAX_COST", "QueryCostLimiter", "operation_cost"]

DEFAULT_MAX_COST = 50_000
SIZE_ARGUMENTS = ("first", "limit", "last")
_MAX_FRAGMENT_DEPTH = 50


def _size(node: FieldNode, field_def: Any, variables: Mapping[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value not in SIZE_ARGUMENTS:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(1, int(value.value))
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            if isinstance(given, int) and not isinstance(given, bool):
                return max(1, given)
    if field_def is not None:
        for name in SIZE_ARGUMENTS:
            arg = field_def.args.get(name)
            if arg is not None and isinstance(arg.default_value, int):
                return max(1, arg.default_value)
    return 1


def _selections(
    selection_set: SelectionSetNode | None, parent: Any, fragments: Mapping[str, FragmentDefinitionNode], schema: GraphQLSchema, depth: int,
) -> Iterator[tuple[FieldNode, Any]]:
    """Fields of a selection set with their parent type, fragments flattened."""
    if selection_set is None or depth > _MAX_FRAGMENT_DEPTH:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent
        elif isinstance(selection, InlineFragmentNode):
            target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
            yield from _selections(selection.selection_set, target, fragments, schema, depth + 1)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                target = schema.get_type(fragment.type_condition.name.value)
                yield from _selections(fragment.selection_set, target, fragments, schema, depth + 1)


def _cost(selection_set: SelectionSetNode | None, parent: Any, fragments: Mapping[str, FragmentDefinitionNode], schema: GraphQLSchema, variables: Mapping[str, Any], depth: int) -> int:
    total = 0
    for node, parent_type in _selections(selection_set, parent, fragments, schema, depth):
        if node.name.value.startswith("__"):
            continue
        fields = getattr(parent_type, "fields", None) or {}
        field_def = fields.get(node.name.value)
        child_type = get_named_type(field_def.type) if field_def is not None else None
        child = _cost(node.selection_set, child_type, fragments, schema, variables, depth + 1) if node.selection_set else 0
        total += 1 + _size(node, field_def, variables) * child
    return total


def operation_cost(schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None = None, operation_name: str | None = None) -> int:
    """The cost of the operation that would run (the named one, else the only one)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    roots: dict[str, GraphQLObjectType | None] = {
        "query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type,
    }
    return max((_cost(o.selection_set, roots[o.operation.value], fragments, schema, variables or {}, 0) for o in operations), default=0)


class QueryCostLimiter(SchemaExtension):
    """Refuse operations whose cost is above ``max_cost`` (see the module docstring)."""

    def __init__(self, *, max_cost: int = DEFAULT_MAX_COST) -> None:
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not ctx.pre_execution_errors:  # valid documents only
            variables = ctx.variables if isinstance(ctx.variables, dict) else {}
            cost = operation_cost(ctx.schema._schema, document, variables, ctx.operation_name)
            if cost > self.max_cost:
                ctx.pre_execution_errors = [
                    GraphQLError(
                        f"The operation is too expensive: cost {cost}, at most {self.max_cost} "
                        "(each field counts 1; first/limit multiply their selection)",
                        extensions={"code": "GRAPHQL_VALIDATION_FAILED", "cost": cost, "maxCost": self.max_cost},
                    )
                ]
        yield
