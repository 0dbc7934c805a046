"""Long-lived subscriptions re-check the session per event, not the access token's expiry;
one event costs the process one read of the customer, however many subscribers it has."""

from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace

import pytest

from clienteling.tables import AuditEntry, Customer
from clienteling.tokens import TokenSigner
from domain.errors import TokenInvalid
from graphql_schema.alerts.subscriptions import AlertSubscriptions
from graphql_schema.context import GraphQLContext, Services
from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import login
from tests.integration.test_customer360 import counting_statements


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


def _info(ctx: GraphQLContext) -> SimpleNamespace:
    """What the subscription resolvers read of strawberry's Info."""
    return SimpleNamespace(context=ctx, field_name="customerUpdated", operation=SimpleNamespace(name=None, operation=SimpleNamespace(value="subscription")))


async def test_one_change_reaches_every_subscriber_with_one_read_of_the_customer(client, app, clean_db, monkeypatch) -> None:
    store = await make_store()
    sellers = [await make_staff(role="associate", stores=[store]) for _ in range(12)]
    customer = await make_customer(store=store, email="fan.out@example.com")
    contexts = []
    for seller in sellers:
        ctx = _context(app, (await login(client, seller["email"]))["Authorization"][7:])
        ctx.services.events = app.state.services.events
        contexts.append(ctx)
    subscribe = AlertSubscriptions.customer_updated
    streams = [subscribe(None, _info(ctx), str(customer)) for ctx in contexts]
    deliveries = [asyncio.ensure_future(anext(stream)) for stream in streams]
    await asyncio.sleep(0.2)  # every stream is waiting for the event
    # The change itself, then its event, as the customer service publishes it after commit.
    await Customer.update({Customer.preferences: {"fit": ["slim"]}, Customer.version: 2}).where(Customer.id == customer).run()
    with counting_statements(clean_db.engine, monkeypatch) as seen:
        await app.state.services.customers.publish_change(customer, store, ["preferences"])
        views = await asyncio.wait_for(asyncio.gather(*deliveries), 10)
    for stream in streams:
        await stream.aclose()
    assert [v.preferences for v in views] == [{"fit": ["slim"]}] * 12
    assert all(v.email.endswith("@example.com") is False or "•" in v.email for v in views)  # not in their books: masked
    def reading(table: str) -> list[str]:
        return [q for q in seen if q.lstrip().upper().startswith("SELECT") and re.search(rf'FROM "?{table}"?(\s|$)', q)]

    customer_reads, ledger_reads, session_checks = reading("customer"), reading("consent_record"), reading("auth_session")
    assert len(customer_reads) == 1 and len(ledger_reads) == 1, [q[:80] for q in seen]
    assert len(session_checks) <= 2, "each subscriber checked its session on its own"
    reads = [e for e in await AuditEntry.select().output(load_json=True).run() if e["action"] == "read"]
    assert len(reads) == 12 and {e["actor_id"] for e in reads} == {s["id"] for s in sellers}
