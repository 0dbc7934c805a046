"""Dependencies shared by REST controllers: the wired services and the calling principal."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from api.request_id import request_id_of
from domain.errors import NotAuthenticated
from domain.staff import Principal

__all__ = ["AppServices", "provide_principal", "services_of"]


class AppServices(msgspec.Struct, kw_only=True):
    auth: Any
    customers: Any
    notes: Any
    staff: Any
    policies: Any
    break_glass: Any
    audit: Any
    consents: Any = None
    data_subject: Any = None
    integrations: Any = None
    wishlist: Any = None
    tasks: Any = None
    appointments: Any = None
    customer360: Any = None
    client_books: Any = None
    kpis: Any = None
    sync: Any = None
    sync_watcher: Any = None
    devices: Any = None
    # Loyalty programme, member accounts and Web Push (docs/push.md).
    loyalty: Any = None
    members: Any = None
    push: Any = None
    push_sender: Any = None
    events: Any


def services_of(request: Request) -> AppServices:
    return request.app.state.services


async def provide_principal(request: Request) -> Principal:
    """The caller behind ``Authorization: Bearer``; 401 problem otherwise."""
    header = request.headers.get("authorization")
    if not header or not header.lower().startswith("bearer "):
        raise NotAuthenticated("Send Authorization: Bearer <access token>")
    principal = await services_of(request).auth.authenticate(header[7:].strip())
    # Where the call came from, for the audit trail (the route template, not the raw path).
    template = request.scope.get("path_template") or request.url.path
    return msgspec.structs.replace(
        principal, surface="rest", operation=f"{request.method} {template}",
        request_id=request_id_of(request.scope),
    )
