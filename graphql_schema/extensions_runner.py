"""strawberry's extension runner, with each operation's hooks looked up once.

strawberry builds a ``StreamResultContextManager`` for every result a subscription streams,
and its constructor looks up every extension's ``on_stream_result`` hook again, wrapping
each one found in a new ``contextlib.contextmanager``; ``get_extensions_results`` awaits
every extension's ``get_results`` for every result, though only a few extensions define
one. For a live alert that is per event and per subscriber (about 9% of a delivery's CPU,
bench/REPORT.md W6). The extensions of an operation do not change while it runs, so this
runner finds both once per operation and gives strawberry the same context manager, with
the same hooks, entered the same way.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import StreamResultContextManager, WrappedHook
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext, StreamExecutionResult
from strawberry.utils.await_maybe import await_maybe

__all__ = ["OperationExtensionsRunner"]

_NOT_LOOKED_UP: Any = object()


class OperationExtensionsRunner(SchemaExtensionsRunner):
    def __init__(self, execution_context: ExecutionContext, extensions: list[SchemaExtension] | None = None) -> None:
        super().__init__(execution_context, extensions)
        self._stream_hooks: list[WrappedHook] = _NOT_LOOKED_UP
        self._with_results: list[SchemaExtension] = _NOT_LOOKED_UP

    def on_stream_result(self, result: StreamExecutionResult) -> StreamResultContextManager:
        if self._stream_hooks is _NOT_LOOKED_UP:
            manager = StreamResultContextManager(self.extensions, result)
            self._stream_hooks = manager.hooks
            return manager
        manager = StreamResultContextManager.__new__(StreamResultContextManager)
        manager.default_hook = SchemaExtension.on_stream_result
        manager.hooks = self._stream_hooks
        manager.result = result
        return manager

    async def get_extensions_results(self, ctx: ExecutionContext) -> dict[str, Any]:
        if self._with_results is _NOT_LOOKED_UP:
            # SchemaExtension.get_results returns {}: nothing to merge from those that keep it.
            self._with_results = [e for e in self.extensions if type(e).get_results is not SchemaExtension.get_results]
        data: dict[str, Any] = {}
        for extension in self._with_results:
            data.update(await await_maybe(extension.get_results()))
        data.update(ctx.extensions_results)
        return data
