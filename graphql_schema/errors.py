"""Every GraphQL error carries ``extensions.code``; unexpected errors are masked."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from domain.errors import DomainError

__all__ = ["ErrorCodes", "tag_pre_execution_errors"]

log = logging.getLogger("clienteling.graphql")


class ErrorCodes(MaskErrors):
    """Map domain errors to their stable codes, tag parse and validation errors, and hide
    anything unexpected behind INTERNAL_SERVER_ERROR (logged without its message, which
    might hold personal data)."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._with_code(e) for e in errors]

    def _process_result(self, result: object) -> None:
        # MaskErrors tests ``isinstance(result, <runtime-checkable Protocol>)``, which walks
        # the protocol's members on every result (each event of every subscriber); reading
        # the attribute is the same test.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def _with_code(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, DomainError):
            extensions = {"code": original.code, **original.extra}
            return GraphQLError(original.detail, nodes=error.nodes, source=error.source, positions=error.positions, path=error.path, extensions=extensions)
        if error.extensions and "code" in error.extensions:
            return error
        if original is None:
            code = "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
            if error.path is not None:
                code = "BAD_USER_INPUT"
            return GraphQLError(error.message, nodes=error.nodes, source=error.source, positions=error.positions, path=error.path, extensions={"code": code})
        log.error("unexpected GraphQL error: %s at %s", type(original).__name__, error.path, exc_info=original)
        return GraphQLError("Internal server error", nodes=error.nodes, source=error.source, positions=error.positions, path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"})


def tag_pre_execution_errors(errors: list[GraphQLError]) -> None:
    """Give a code to errors raised before execution (a syntax error caught by the parser
    cache never reaches an extension hook), in place on the objects the response uses."""
    for error in errors:
        if not error.extensions or "code" not in error.extensions:
            if error.original_error is None or isinstance(error.original_error, GraphQLError):
                code = "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
                error.extensions = {**(error.extensions or {}), "code": code}
