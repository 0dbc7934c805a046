"""Workflow inputs to domain Structs: enums to their wire values, then the shared conversion."""

from __future__ import annotations

import enum
from types import SimpleNamespace
from typing import Any, TypeVar

from graphql_schema.convert import to_struct

__all__ = ["input_struct"]

T = TypeVar("T")


def input_struct(obj: Any, struct: type[T]) -> T:
    plain = SimpleNamespace(**{k: v.value if isinstance(v, enum.Enum) else v for k, v in vars(obj).items()})
    return to_struct(plain, struct)
