"""Loyalty members (SPEC §5): sign-in, who am I, loyalty standing, notification preferences
and Web Push subscriptions. Member tokens are not staff tokens: neither opens the other's
routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from api.deps import services_of
from clienteling.services.loyalty import LoyaltySummary
from clienteling.services.members import MemberLogin, MemberPrincipal, MemberView
from domain.errors import NotAuthenticated
from domain.pagination import Page
from domain.push import PreferencesUpdate, PreferencesView, SubscriptionIn, SubscriptionView

__all__ = ["MemberController", "provide_member"]


class MemberLoginBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]


async def provide_member(request: Request) -> MemberPrincipal:
    """The member behind ``Authorization: Bearer <member access token>``; 401 otherwise."""
    header = request.headers.get("authorization")
    if not header or not header.lower().startswith("bearer "):
        raise NotAuthenticated("Send Authorization: Bearer <member access token>")
    return await services_of(request).members.authenticate(header[7:].strip())


_MEMBER = {"member": Provide(provide_member)}


class MemberController(Controller):
    path = "/api/v1/members"
    tags = ["members"]

    @post("/login", status_code=200, summary="Member sign-in")
    async def login(self, request: Request, data: JSONBody[MemberLoginBody]) -> MemberLogin:
        """Returns ``{"accessToken","expiresIn","member"}``. Wrong credentials: 401
        ``INVALID_CREDENTIALS``; repeated failures: 429 with Retry-After."""
        client_ip = request.client.host if request.client else "unknown"
        return await services_of(request).members.login(data.email, data.password, client_ip)

    @get("/me", dependencies=_MEMBER, summary="The signed-in member")
    async def me(self, request: Request, member: NamedDependency[MemberPrincipal]) -> MemberView:
        return await services_of(request).members.me(member)

    @get("/me/loyalty", dependencies=_MEMBER, summary="Points, tier and points about to expire")
    async def loyalty(self, request: Request, member: NamedDependency[MemberPrincipal]) -> LoyaltySummary:
        return await services_of(request).members.loyalty_summary(member)

    @get("/me/notification-preferences", dependencies=_MEMBER, summary="Notification preferences")
    async def preferences(self, request: Request, member: NamedDependency[MemberPrincipal]) -> PreferencesView:
        return await services_of(request).members.preferences(member)

    @patch("/me/notification-preferences", dependencies=_MEMBER, summary="Change notification preferences")
    async def update_preferences(self, request: Request, member: NamedDependency[MemberPrincipal], data: JSONBody[PreferencesUpdate]) -> PreferencesView:
        """Language (es, ca, ro, en), time zone (IANA), quiet hours as local ``HH:MM`` (both or
        neither; ``null`` clears), and the event types to receive. Quiet hours defer
        notifications to their end; they are never dropped."""
        return await services_of(request).members.update_preferences(member, data)

    @post("/me/push-subscriptions", dependencies=_MEMBER, summary="Register a Web Push subscription")
    async def subscribe(self, request: Request, member: NamedDependency[MemberPrincipal], data: JSONBody[SubscriptionIn]) -> Response[SubscriptionView]:
        """Send the browser's ``PushSubscription.toJSON()``. The endpoint must be https
        (http to 127.0.0.1/localhost only with ``CLIENTELING_PUSH_ALLOW_HTTP_LOOPBACK=1``),
        ``keys.p256dh`` a 65-byte uncompressed P-256 point and ``keys.auth`` 16 bytes, both
        base64url; otherwise 400 ``PUSH_SUBSCRIPTION_INVALID``. 201 when new, 200 when the
        endpoint was already registered (its keys are refreshed)."""
        view, created = await services_of(request).push.subscribe_member(member, data)
        return Response(view, status_code=201 if created else 200)

    @get("/me/push-subscriptions", dependencies=_MEMBER, summary="The member's push subscriptions")
    async def subscriptions(self, request: Request, member: NamedDependency[MemberPrincipal]) -> Page[SubscriptionView]:
        return Page(items=await services_of(request).push.member_subscriptions(member), next_cursor=None)

    @delete("/me/push-subscriptions/{subscription_id:uuid}", dependencies=_MEMBER, status_code=204, summary="Remove a push subscription")
    async def unsubscribe(self, request: Request, member: NamedDependency[MemberPrincipal], subscription_id: FromPath[UUID]) -> None:
        await services_of(request).push.unsubscribe_member(member, sub_id=subscription_id)

    @delete("/me/push-subscriptions", dependencies=_MEMBER, status_code=204, summary="Remove a push subscription by its endpoint")
    async def unsubscribe_endpoint(
        self, request: Request, member: NamedDependency[MemberPrincipal],
        endpoint: Annotated[str | None, QueryParameter(min_length=8, max_length=2048, description="the subscription's endpoint URL (required)")] = None,
    ) -> None:
        """For a browser that unsubscribed and knows only its endpoint."""
        await services_of(request).push.unsubscribe_member(member, endpoint=endpoint)
