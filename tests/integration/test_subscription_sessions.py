"""Long-lived subscriptions re-check the session per event, not the access token's expiry."""

from __future__ import annotations

import pytest

from clienteling.tokens import TokenSigner
from domain.errors import TokenInvalid
from graphql_schema.context import GraphQLContext, Services
from tests.factories import make_staff, make_store
from tests.integration.conftest import login


def _context(app, token: str) -> GraphQLContext:  # noqa: ANN001
    s = app.state.services
    services = Services(auth=s.auth, customers=s.customers, notes=s.notes, staff=s.staff, break_glass=s.break_glass, policies=s.policies)
    return GraphQLContext(services=services, connection_params={"headers": {"Authorization": f"Bearer {token}"}})


async def test_a_live_session_outlives_its_access_token_on_an_open_connection(client, app, settings) -> None:
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    token = (await login(client, seller["email"]))["Authorization"][7:]
    ctx = _context(app, token)
    opened = await ctx.principal()  # at connection_init the token is checked in full
    claims = TokenSigner(settings.secret_key, 900).verify(token)
    expired = TokenSigner(settings.secret_key, 900).issue(staff_id=claims.sub, session_id=claims.sid, role=claims.role, store_ids=claims.stores, device_id=None, now=1_000_000)
    ctx.connection_params = {"headers": {"Authorization": f"Bearer {expired}"}}
    assert (await ctx.principal(refresh=True)).staff_id == opened.staff_id


async def test_a_revoked_session_ends_the_stream(client, app) -> None:
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    headers = await login(client, seller["email"])
    ctx = _context(app, headers["Authorization"][7:])
    await ctx.principal()
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    with pytest.raises(TokenInvalid):
        await ctx.principal(refresh=True)
