"""Per-request GraphQL context: services, the caller, and dataloaders built for this request."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from strawberry.dataloader import DataLoader
from strawberry.litestar import BaseContext

from api.request_id import request_id_of
from domain.errors import NotAuthenticated
from domain.staff import Principal

__all__ = ["GraphQLContext", "Services"]


class Services(msgspec.Struct, kw_only=True):
    """The use cases the GraphQL layer may call; wired once in the app factory."""

    auth: Any
    customers: Any
    notes: Any
    staff: Any
    break_glass: Any
    policies: Any
    consents: Any = None
    data_subject: Any = None
    events: Any = None
    wishlist: Any = None
    tasks: Any = None
    appointments: Any = None
    customer360: Any = None
    client_books: Any = None
    kpis: Any = None
    sync: Any = None
    sync_watcher: Any = None


class GraphQLContext(BaseContext, kw_only=True):
    services: Services
    # strawberry stores WebSocket connection params here (FIELD-NOTES: must be declared).
    connection_params: dict[str, Any] | None = None
    _principal: Principal | None = None
    _loaders: dict[str, DataLoader[Any, Any]] = msgspec.field(default_factory=dict)

    def _authorization(self) -> str | None:
        if self.request is not None:
            return self.request.headers.get("authorization")
        params = self.connection_params or {}
        headers = params.get("headers") if isinstance(params.get("headers"), dict) else params
        value = headers.get("Authorization") or headers.get("authorization")
        return value if isinstance(value, str) else None

    async def principal(self, info: Any = None, *, refresh: bool = False) -> Principal:
        """The authenticated caller (NOT_AUTHENTICATED / TOKEN_INVALID otherwise), labelled
        with the GraphQL operation and field for the audit trail. ``refresh`` re-checks that
        the session is still alive (long-lived subscriptions do, per event); the access token's
        own expiry only matters when the connection is opened."""
        if self._principal is not None and refresh:
            await self.services.auth.ensure_session_alive(self._principal)
        if self._principal is None:
            header = self._authorization()
            if not header or not header.lower().startswith("bearer "):
                raise NotAuthenticated("Send Authorization: Bearer <access token>")
            principal = await self.services.auth.authenticate(header[7:].strip())
            request_id = None
            conn = self.request or self.websocket
            if conn is not None:
                request_id = request_id_of(conn.scope)
            self._principal = msgspec.structs.replace(principal, surface="graphql", request_id=request_id)
        if info is None:
            return self._principal
        name = info.operation.name.value if info.operation.name else "-"
        operation = f"{info.operation.operation.value} {name} {info.field_name}"
        return msgspec.structs.replace(self._principal, operation=operation)

    def release(self) -> None:
        """Drop this request's dataloaders once its result is built. Their batch functions
        close over this context, so context and loaders form a reference cycle that holds
        every row they cached (purchases, notes, timeline) until the garbage collector's next
        pass instead of freeing it when the request ends (bench/REPORT.md: a customer 360
        left ~500 objects of cyclic garbage per request, which made the collector's passes
        long and frequent)."""
        for loader in self._loaders.values():
            loader.clear_all()
        self._loaders.clear()

    def loader(self, name: str, batch: Any) -> DataLoader[Any, Any]:
        """A dataloader that lives for this request only."""
        if name not in self._loaders:
            self._loaders[name] = DataLoader(load_fn=batch)
        return self._loaders[name]

    async def notes_of(self, customer_id: UUID) -> list[Any]:
        principal = await self.principal()

        async def batch(ids: list[UUID]) -> list[list[Any]]:
            found = await self.services.notes.list_for(principal, list(ids))
            return [found.get(i, []) for i in ids]

        return await self.loader("notes", batch).load(customer_id)

    async def store(self, store_id: UUID) -> Any:
        async def batch(ids: list[UUID]) -> list[Any]:
            found = await self.services.staff.stores_by_ids(list(ids))
            return [found.get(i) for i in ids]

        return await self.loader("stores", batch).load(store_id)
