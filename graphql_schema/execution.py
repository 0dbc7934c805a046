"""A graphql-core executor that completes flat objects, and lists of them, in one tight loop.

graphql-core completes every field of every object on its own: a path, a resolve-info
object, the resolver call, the completion of the value. For objects whose selected fields
are all plain attributes of leaf types (a sync page of 2,000 ``CustomerDoc`` with 20 fields,
the customer a live-alert subscriber receives, the lines of a purchase), that is about 5 µs
per field, and a pull page spent ~200 ms in it (bench/REPORT.md, W5).

:class:`FlatListExecutor` takes a shorter road for exactly those objects and produces the
same result: for each selected field, its own resolver (strawberry's basic-field resolver:
``getattr``) and its type's own ``coerce_output_value`` (item by item for lists of leaves).
Anything it cannot prove equivalent goes the ordinary way, for the whole object or list: a
field with a resolver, arguments, field extensions or an object type, ``@defer``/``@stream``,
an ``is_type_of`` check, graphql-core middleware (schema extensions with a ``resolve``
hook), and any value that would be an error (``null`` in a non-null position, a value the
type refuses, an awaitable). Basic resolvers have no side effects, so starting over costs
only time.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.execution.executor import CollectedErrors
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["FlatListExecutor"]

_BUILT_IN_SCALARS = (GraphQLString, GraphQLInt, GraphQLFloat, GraphQLBoolean, GraphQLID)


class _NotFlat(Exception):
    """An item this loop will not complete: the ordinary path does it (and its errors)."""


_NO_PLAN = object()


async def _execution_finished(*_args: Any) -> Any:
    raise RuntimeError("This GraphQL execution has finished")


_FINISHED = GraphQLResolveInfoHelpers(gather=_execution_finished, track=_execution_finished)


class FlatListExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._flat_plans: dict[tuple[Any, int], tuple[Any, Any]] = {}

    def build_response(self, data):  # noqa: ANN001, ANN201
        """The result, then cut the executor loose from what it cached: graphql-core keeps
        the executor's own bound methods in ``async_helpers``, so every executor is a
        reference cycle, and with it everything it references (the request's context, the
        collected field groups, the plans) waited for the garbage collector instead of being
        freed when the request ended. Only once execution is over: not for incremental
        delivery, nor while tracked asynchronous work still runs. A per-event executor of a
        subscription is a shallow copy: rebinding its attributes leaves the subscription's
        own executor and shared caches as they are."""
        result = super().build_response(data)
        if isinstance(result, ExecutionResult) and not self.pending_incremental_futures and not self.background_futures:
            self.async_helpers = _FINISHED
            self.context_value = None
            self.root_value = None
            self._relevant_sub_fields = {}
            self._flat_plans = {}
        return result

    def complete_iterable_value(self, item_type, field_details_list, info, path, items, position_context):  # noqa: ANN001, ANN201, PLR0913
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        plan = self._flat_plan(object_type, field_details_list, path) if isinstance(object_type, GraphQLObjectType) else None
        if plan is None or self.get_stream_usage(field_details_list, path) is not None:
            return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)
        if not isinstance(items, (list, tuple)):
            items = list(items)
        try:
            return _complete_flat(plan, items, isinstance(item_type, GraphQLNonNull), self.is_awaitable)
        except _NotFlat:
            return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)

    def complete_object_value(self, return_type, field_details_list, info, path, result, position_context):  # noqa: ANN001, ANN201, PLR0913
        plan = self._flat_plan(return_type, field_details_list, path)
        if plan is not None:
            try:
                return _complete_row(plan, result, self.is_awaitable)
            except _NotFlat:
                pass
        return super().complete_object_value(return_type, field_details_list, info, path, result, position_context)

    def _flat_plan(self, object_type, field_details_list, path):  # noqa: ANN001, ANN202
        """``[(response key, resolver, kind, type, non-null, constant), ...]`` when every
        selected field of ``object_type`` can be completed in the loop, else ``None``.

        Memoised per selection: the field nodes (objects of the parsed document, which the
        executor holds) when none of them is deferred or has fragment variables, so that
        every event of a subscription reuses the plan of the first (graphql-core collects
        the root fields again for each event, in new lists); otherwise per field group, like
        graphql-core's ``collect_subfields``. The variables, which ``@skip``/``@include``
        depend on, are the same for every event of an operation."""
        if all(details.defer_usage is None and details.fragment_variable_values is None for details in field_details_list):
            key = (object_type, *[id(details.node) for details in field_details_list])
        else:
            key = (object_type, id(field_details_list))
        cached = self._flat_plans.get(key)
        if cached is not None:
            return None if cached[1] is _NO_PLAN else cached[1]
        plan = self._build_plan(object_type, field_details_list)
        # keep the field group alive with its plan so that no id in the key can be reused
        self._flat_plans[key] = (field_details_list, _NO_PLAN if plan is None else plan)
        return plan

    def build_per_event_executor(self, payload):  # noqa: ANN001, ANN201
        """graphql-core's per-event copy (a shallow copy of the attributes, without
        ``copy.copy``'s generic reduce protocol), with its own ``collect_subfields`` memo:
        graphql-core keys that memo on the identity of field groups that are new at every
        event, so a shared one gained an entry per event and never hit, for as long as the
        subscription lived. The flat plans stay shared (their keys are the document's
        nodes: one entry per selection, whatever the number of events)."""
        executor = object.__new__(type(self))
        executor.__dict__.update(self.__dict__)
        executor.root_value = payload
        executor.collected_errors = CollectedErrors()
        executor._relevant_sub_fields = {}
        return executor

    def _build_plan(self, object_type, field_details_list):  # noqa: ANN001, ANN202
        manager = self.middleware_manager  # strawberry always passes one, empty without resolve hooks
        if manager is not None and manager.middlewares:
            return None
        if object_type.is_type_of is not None:
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
                plan.append((response_name, None, _CONSTANT, None, False, object_type.name))
                continue
            if name.startswith("__") or node.arguments or node.selection_set is not None:
                return None
            field_def = object_type.fields.get(name)
            if field_def is None or field_def.args or not getattr(field_def.resolve, "_is_default", False):
                return None
            entry = _leaf(field_def.type)
            if entry is None:
                return None
            kind, leaf_type, non_null = entry
            plan.append((response_name, _reader(field_def), kind, leaf_type, non_null, None))
        return plan


def _reader(field_def):  # noqa: ANN001, ANN202
    """The field's value from its source, as its basic resolver reads it. That resolver is
    ``field.get_result(source, None, [], {})``, which for a basic field is
    ``field.default_resolver(source, field.python_name)``: where the default resolver is
    ``getattr`` (strawberry's default), one ``attrgetter`` does the same in one call instead
    of three Python frames per field and item (a pull page reads 56,000 fields)."""
    field = (field_def.extensions or {}).get("strawberry-definition")
    name = getattr(field, "python_name", None)
    if field is not None and field.is_basic_field and getattr(field, "default_resolver", None) is getattr and isinstance(name, str):
        return attrgetter(name)
    resolve = field_def.resolve
    return lambda source: resolve(source, None)


_CONSTANT, _BUILT_IN, _OTHER_LEAF, _LEAF_LIST = range(4)


def _leaf(field_type):  # noqa: ANN001, ANN202
    """(kind, type, non-null) of a leaf field or a list of leaves, else None."""
    non_null = isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if non_null else field_type
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        item_non_null = isinstance(item, GraphQLNonNull)
        item = item.of_type if item_non_null else item
        if not isinstance(item, (GraphQLScalarType, GraphQLEnumType)):
            return None
        return _LEAF_LIST, (item, item_non_null), non_null
    if any(inner is s for s in _BUILT_IN_SCALARS):
        return _BUILT_IN, inner, non_null
    if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
        return _OTHER_LEAF, inner, non_null
    return None


def _coerce(leaf_type, value, is_awaitable, built_in: bool) -> Any:  # noqa: ANN001
    """The leaf's own completion; built-in scalars refuse an awaitable themselves."""
    if not built_in and is_awaitable(value):
        raise _NotFlat
    try:
        coerced = leaf_type.coerce_output_value(value)
    except Exception as exc:  # the ordinary path reports it, with its path
        raise _NotFlat from exc
    if coerced is None or coerced is Undefined:
        raise _NotFlat
    return coerced


def _complete_row(plan, item, is_awaitable) -> dict[str, Any]:  # noqa: ANN001
    row: dict[str, Any] = {}
    for key, resolve, kind, leaf_type, non_null, constant in plan:
        if kind is _CONSTANT:
            row[key] = constant
            continue
        value = resolve(item)
        if value is None:
            if non_null:
                raise _NotFlat
            row[key] = None
        elif kind is not _LEAF_LIST:
            row[key] = _coerce(leaf_type, value, is_awaitable, kind is _BUILT_IN)
        else:
            if is_awaitable(value) or isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
                raise _NotFlat
            item_type, item_non_null = leaf_type
            built_in = any(item_type is s for s in _BUILT_IN_SCALARS)
            out = []
            for element in value:
                if element is None:
                    if item_non_null:
                        raise _NotFlat
                    out.append(None)
                else:
                    out.append(_coerce(item_type, element, is_awaitable, built_in))
            row[key] = out
    return row


def _complete_flat(plan, items, items_non_null: bool, is_awaitable) -> list[Any]:  # noqa: ANN001
    out: list[Any] = []
    append = out.append
    for item in items:
        if item is None:
            if items_non_null:
                raise _NotFlat
            append(None)
        else:
            append(_complete_row(plan, item, is_awaitable))
    return out
