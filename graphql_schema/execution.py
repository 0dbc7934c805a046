"""A graphql-core executor that completes lists of flat objects in one tight loop.

graphql-core completes every field of every object on its own: a path, a resolve-info
object, the resolver call, the completion of the value. For lists of objects whose selected
fields are all plain attributes with built-in scalar types (a sync page of 2,000
``CustomerDoc`` with 20 fields, the lines of a purchase), that is about 5 µs per field, and a
pull page spent ~200 ms in it (bench/REPORT.md, W5).

:class:`FlatListExecutor` takes a shorter road for exactly those lists and produces the
same result: for each item, each selected field's own resolver (strawberry's basic-field
resolver: ``getattr``) and the scalar's own ``coerce_output_value``. Anything it cannot
prove equivalent goes the ordinary way, for the whole list: a field with a resolver,
arguments, field extensions or a non-built-in type, ``@defer``/``@stream``, an
``is_type_of`` check, graphql-core middleware, and any item whose value would be an error
(``null`` in a non-null position, a value the scalar refuses, an awaitable). Basic
resolvers have no side effects, so starting over costs only time.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["FlatListExecutor"]

_BUILT_IN_SCALARS = (GraphQLString, GraphQLInt, GraphQLFloat, GraphQLBoolean, GraphQLID)


class _NotFlat(Exception):
    """An item this loop will not complete: the ordinary path does it (and its errors)."""


_NO_PLAN = object()


class FlatListExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._flat_plans: dict[tuple[Any, int], tuple[Any, Any]] = {}

    def complete_iterable_value(self, item_type, field_details_list, info, path, items, position_context):  # noqa: ANN001, ANN201, PLR0913
        plan = self._flat_plan(item_type, field_details_list, path)
        if plan is None:
            return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)
        if not isinstance(items, (list, tuple)):
            items = list(items)
        try:
            return _complete_flat(plan, items, item_type)
        except _NotFlat:
            return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)

    def _flat_plan(self, item_type, field_details_list, path):  # noqa: ANN001, ANN202
        """``[(response key, resolver, scalar, non-null, constant), ...]`` when every selected
        field of the list's object type can be completed in the loop, else ``None``
        (memoised per field group, like graphql-core's ``collect_subfields``)."""
        key = (item_type, id(field_details_list))
        cached = self._flat_plans.get(key)
        if cached is not None:
            return None if cached[1] is _NO_PLAN else cached[1]
        plan = self._build_plan(item_type, field_details_list, path)
        # keep the field group alive with its plan so that its id cannot be reused
        self._flat_plans[key] = (field_details_list, _NO_PLAN if plan is None else plan)
        return plan

    def _build_plan(self, item_type, field_details_list, path):  # noqa: ANN001, ANN202
        manager = self.middleware_manager  # strawberry always passes one, empty without resolve hooks
        if manager is not None and manager.middlewares:
            return None
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if not isinstance(object_type, GraphQLObjectType) or object_type.is_type_of is not None:
            return None
        if self.get_stream_usage(field_details_list, path) is not None:
            return None
        grouped, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        plan = []
        for response_name, group in grouped.items():
            if any(details.defer_usage is not None for details in group):
                return None
            node = group[0].node
            name = node.name.value
            if name == "__typename":
                plan.append((response_name, None, None, False, object_type.name))
                continue
            if name.startswith("__") or node.arguments or node.selection_set is not None:
                return None
            field_def = object_type.fields.get(name)
            if field_def is None or field_def.args or not getattr(field_def.resolve, "_is_default", False):
                return None
            field_type = field_def.type
            non_null = isinstance(field_type, GraphQLNonNull)
            scalar = field_type.of_type if non_null else field_type
            if not any(scalar is s for s in _BUILT_IN_SCALARS):
                return None
            plan.append((response_name, field_def.resolve, scalar, non_null, None))
        return plan


def _complete_flat(plan, items, item_type) -> list[Any]:  # noqa: ANN001
    items_non_null = isinstance(item_type, GraphQLNonNull)
    out: list[Any] = []
    append = out.append
    for item in items:
        if item is None:
            if items_non_null:
                raise _NotFlat
            append(None)
            continue
        row: dict[str, Any] = {}
        for key, resolve, scalar, non_null, constant in plan:
            if constant is not None:
                row[key] = constant
                continue
            value = resolve(item, None)
            if value is None:
                if non_null:
                    raise _NotFlat
                row[key] = None
                continue
            try:
                coerced = scalar.coerce_output_value(value)
            except Exception as exc:  # the ordinary path reports it, with its path
                raise _NotFlat from exc
            if coerced is None or coerced is Undefined:
                raise _NotFlat
            row[key] = coerced
        append(row)
    return out
