"""Customers over REST: list and search, open, create, update, notes."""

from __future__ import annotations

from typing import Annotated
import hashlib
from uuid import UUID

import msgspec

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from domain.customers import Customer, CustomerCreate, CustomerUpdate
from domain.errors import ValidationFailed
from domain.notes import Note, NoteCreate
from domain.pagination import Page
from domain.staff import Principal

__all__ = ["CustomerController"]


def _etag(customer: Customer) -> str:
    """Version plus a digest of this caller's view: two roles (or a consent change) that see
    different fields never share a cached copy."""
    digest = hashlib.sha256(msgspec.json.encode(customer)).hexdigest()[:16]
    return f'"v{customer.version}-{digest}"'


def _if_match_version(header: str | None) -> int | None:
    if header is None:
        return None
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    version = value.strip('"').split("-", 1)[0]
    if not version.startswith("v") or not version[1:].isdigit():
        raise ValidationFailed("If-Match must be an ETag returned by this API", extra={"field": "If-Match"})
    return int(version[1:])


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/", summary="List or search customers")
    async def list_customers(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        q: Annotated[str | None, QueryParameter(description="Search text: name (accents and typos forgiven), or phone/email/card number where you may read them; best matches first")] = None,
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[Customer]:
        return await services_of(request).customers.list(principal, query=q, limit=limit, cursor=cursor)

    @post("/", summary="Create a customer")
    async def create_customer(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[CustomerCreate]) -> Response[Customer]:
        """When customers you can reach have the same email or phone, or a similar name and
        the same birthday, nothing is created: 409 ``DUPLICATE_CANDIDATES`` with
        ``candidates`` (those customers as you may see them). Send the same body with
        ``"confirmDuplicate": true`` to create anyway."""
        customer = await services_of(request).customers.create(principal, data)
        return Response(customer, status_code=201, headers={"ETag": _etag(customer), "Location": f"{self.path}/{customer.id}"})

    @get("/{customer_id:uuid}", summary="Open a customer")
    async def get_customer(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID]) -> Response[Customer]:
        customer = await services_of(request).customers.get(principal, customer_id)
        etag = _etag(customer)
        if request.headers.get("if-none-match") in (etag, f"W/{etag}"):
            return Response(None, status_code=304, headers={"ETag": etag})  # type: ignore[arg-type]
        return Response(customer, headers={"ETag": etag})

    @patch("/{customer_id:uuid}", summary="Update some fields of a customer")
    async def update_customer(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[CustomerUpdate]) -> Response[Customer]:
        """All or nothing: a field your role may not write refuses the whole request (403
        ``FIELDS_NOT_WRITABLE``). With ``If-Match``, a stale version answers 412."""
        version = _if_match_version(request.headers.get("if-match"))
        customer = await services_of(request).customers.update(principal, customer_id, data, if_version=version)
        return Response(customer, headers={"ETag": _etag(customer)})

    @get("/{customer_id:uuid}/notes", summary="Notes on a customer, pinned first then newest")
    async def list_notes(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        customer_id: FromPath[UUID],
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[Note]:
        return await services_of(request).notes.page(principal, customer_id, limit=limit, cursor=cursor)

    @post("/{customer_id:uuid}/notes", summary="Add a note to a customer")
    async def add_note(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[NoteCreate]) -> Response[Note]:
        note = await services_of(request).notes.add(principal, customer_id, data)
        return Response(note, status_code=201)
