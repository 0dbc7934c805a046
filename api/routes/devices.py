"""Tablets that may sync: register, list, revoke."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from clienteling.services.devices import DeviceRegistration, DeviceView
from domain.pagination import Page
from domain.staff import Principal

__all__ = ["DeviceController"]

Limit = Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")]
Cursor = Annotated[str | None, QueryParameter(description="nextCursor of the previous page")]


class DeviceController(Controller):
    path = "/api/v1/devices"
    tags = ["devices"]
    dependencies = {"principal": Provide(provide_principal)}

    @post("/", summary="Register a tablet for a store", status_code=201)
    async def register(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[DeviceRegistration]) -> DeviceView:
        """Store managers register their stores' tablets (HQ any store). Staff then sign in
        with `deviceId` set to the device's id, and only then may the tablet sync."""
        return await services_of(request).devices.register(principal, data)

    @get("/", summary="The tablets of my stores")
    async def list_devices(self, request: Request, principal: NamedDependency[Principal], limit: Limit = None, cursor: Cursor = None) -> Page[DeviceView]:
        return await services_of(request).devices.list(principal, limit=limit, cursor=cursor)

    @post("/{device_id:str}/revoke", summary="Revoke a lost or retired tablet", status_code=200)
    async def revoke(self, request: Request, principal: NamedDependency[Principal], device_id: FromPath[str]) -> DeviceView:
        """Ends every session signed in from the device at once; it can no longer sign in or
        sync. Idempotent."""
        return await services_of(request).devices.revoke(principal, device_id)
