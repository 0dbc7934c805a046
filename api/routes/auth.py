"""Staff sign-in, refresh and sign-out."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from msgspec import Meta

from api.deps import provide_principal, services_of
from clienteling.services.auth import TokenPair
from domain.staff import Principal

__all__ = ["AuthController"]


class LoginBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]
    device_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")] | None = None


class RefreshBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    refresh_token: Annotated[str, Meta(min_length=10, max_length=200)]


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=200, summary="Sign in with email and password")
    async def login(self, request: Request, data: JSONBody[LoginBody]) -> TokenPair:
        """Returns a short-lived access token and a rotating refresh token. Wrong credentials
        answer 401 ``INVALID_CREDENTIALS``; repeated failures answer 429 with Retry-After."""
        client_ip = request.client.host if request.client else "unknown"
        return await services_of(request).auth.login(data.email, data.password, data.device_id, client_ip)

    @post("/refresh", status_code=200, summary="Exchange a refresh token for new tokens")
    async def refresh(self, request: Request, data: JSONBody[RefreshBody]) -> TokenPair:
        return await services_of(request).auth.refresh(data.refresh_token)

    @post("/logout", status_code=204, dependencies={"principal": Provide(provide_principal)}, summary="End this session")
    async def logout(self, request: Request, principal: NamedDependency[Principal]) -> None:
        await services_of(request).auth.logout(principal)
