"""Effective permissions, break-glass access and policy reload, over REST and GraphQL."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.settings import SettingsError, load_settings
from clienteling.policy_store import PolicyStore
from clienteling.tables import BreakGlassGrant, Customer
from permissions.policy import DEFAULT_POLICY_PATH
from tests.factories import FAST_PASSWORDS, make_customer, make_staff, make_store
from tests.integration.conftest import login

REASON = "Customer at the till asks about an order placed in Madrid"


async def test_permissions_me_describes_the_associate_policy(client) -> None:
    store = await make_store()
    associate = await make_staff(role="associate", stores=[store])
    body = (await client.get("/api/v1/permissions/me", headers=await login(client, associate["email"]))).json()
    customer = body["resources"]["customer"]
    assert body["role"] == "associate" and customer["scope"] == "store" and customer["create"] is True
    assert customer["fields"]["email"] == {"read": "masked", "readInBook": "full", "requiresConsent": None, "writable": True}
    assert customer["fields"]["sizes"]["requiresConsent"] == "personalization"
    assert customer["fields"]["vip"]["writable"] is False
    assert body["breakGlassMinutes"] == 30 and body["capabilities"] == []


async def test_permissions_me_for_marketing_has_no_notes_and_consented_contact(client) -> None:
    marketing = await make_staff(role="marketing")
    headers = await login(client, marketing["email"])
    body = (await client.get("/api/v1/permissions/me", headers=headers)).json()
    assert "note" not in body["resources"]
    assert body["resources"]["customer"]["fields"]["email"]["requiresConsent"] == "marketing_email"
    assert not any(f["writable"] for f in body["resources"]["customer"]["fields"].values())
    gql = (await client.post("/graphql", json={"query": "{ myPermissions { role resources { resource fields { field read requiresConsent } } } }"}, headers=headers)).json()
    resources = {r["resource"]: r for r in gql["data"]["myPermissions"]["resources"]}
    assert "note" not in resources and list(resources) == list(body["resources"])
    email = next(f for f in resources["customer"]["fields"] if f["field"] == "email")
    assert email == {"field": "email", "read": "full", "requiresConsent": "marketing_email"}


async def _out_of_scope(client):  # noqa: ANN001, ANN202
    madrid = await make_store(code="MAD")
    bucharest = await make_store(code="BUC")
    seller = await make_staff(role="associate", stores=[bucharest])
    customer = await make_customer(store=madrid, email="far.away@example.com")
    return madrid, bucharest, seller, customer


async def test_break_glass_opens_an_out_of_scope_customer_read_only(client) -> None:
    madrid, _, seller, customer = await _out_of_scope(client)
    headers = await login(client, seller["email"])
    assert (await client.get(f"/api/v1/customers/{customer}", headers=headers)).status_code == 404
    r = await client.post(f"/api/v1/customers/{customer}/break-glass", json={"reason": REASON}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer"]["email"] == "f•••@example.com"  # field rules still apply
    assert body["grant"]["reason"] == REASON and body["grant"]["storeId"] == str(madrid) and body["grant"]["active"] is True
    expires = dt.datetime.fromisoformat(body["grant"]["expiresAt"])
    assert dt.timedelta(minutes=29) < expires - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(minutes=30)
    assert (await client.get(f"/api/v1/customers/{customer}", headers=headers)).status_code == 200
    patch = await client.patch(f"/api/v1/customers/{customer}", json={"firstName": "X"}, headers=headers)
    assert patch.status_code == 404
    assert (await Customer.select(Customer.version).where(Customer.id == customer).first().run())["version"] == 1


async def test_break_glass_expires(client) -> None:
    _, _, seller, customer = await _out_of_scope(client)
    headers = await login(client, seller["email"])
    await client.post(f"/api/v1/customers/{customer}/break-glass", json={"reason": REASON}, headers=headers)
    await BreakGlassGrant.update({BreakGlassGrant.expires_at: dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)}, force=True).run()
    assert (await client.get(f"/api/v1/customers/{customer}", headers=headers)).status_code == 404


async def test_break_glass_needs_a_real_reason_and_an_allowed_role(client) -> None:
    _, _, seller, customer = await _out_of_scope(client)
    r = await client.post(f"/api/v1/customers/{customer}/break-glass", json={"reason": "because"}, headers=await login(client, seller["email"]))
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED"
    compliance = await make_staff(role="compliance_officer")
    r = await client.post(f"/api/v1/customers/{customer}/break-glass", json={"reason": REASON}, headers=await login(client, compliance["email"]))
    assert r.status_code == 403
    assert await BreakGlassGrant.count().run() == 0


async def test_break_glass_on_a_customer_in_scope_records_nothing(client) -> None:
    madrid = await make_store()
    seller = await make_staff(role="associate", stores=[madrid])
    customer = await make_customer(store=madrid)
    r = await client.post(f"/api/v1/customers/{customer}/break-glass", json={"reason": REASON}, headers=await login(client, seller["email"]))
    assert r.status_code == 200 and r.json()["grant"] is None
    assert await BreakGlassGrant.count().run() == 0


async def test_break_glass_log_is_visible_to_the_customers_manager_and_compliance(client) -> None:
    madrid, bucharest, seller, customer = await _out_of_scope(client)
    await client.post(f"/api/v1/customers/{customer}/break-glass", json={"reason": REASON}, headers=await login(client, seller["email"]))
    madrid_manager = await make_staff(role="store_manager", stores=[madrid])
    bucharest_manager = await make_staff(role="store_manager", stores=[bucharest])
    compliance = await make_staff(role="compliance_officer")
    colleague = await make_staff(role="associate", stores=[bucharest])

    async def log(staff):  # noqa: ANN001, ANN202
        r = await client.get("/api/v1/break-glass", headers=await login(client, staff["email"]))
        assert r.status_code == 200
        return [(g["staffId"], g["customerId"], g["reason"]) for g in r.json()["items"]]

    expected = [(str(seller["id"]), str(customer), REASON)]
    assert await log(madrid_manager) == expected
    assert await log(compliance) == expected
    assert await log(seller) == expected  # their own
    assert await log(bucharest_manager) == []
    assert await log(colleague) == []


async def test_break_glass_log_pages_with_a_cursor(client) -> None:
    madrid = await make_store()
    bucharest = await make_store()
    seller = await make_staff(role="associate", stores=[bucharest])
    headers = await login(client, seller["email"])
    for _ in range(3):
        cid = await make_customer(store=madrid)
        await client.post(f"/api/v1/customers/{cid}/break-glass", json={"reason": REASON}, headers=headers)
    first = (await client.get("/api/v1/break-glass", params={"limit": 2}, headers=headers)).json()
    rest = (await client.get("/api/v1/break-glass", params={"limit": 2, "cursor": first["nextCursor"]}, headers=headers)).json()
    ids = [g["id"] for g in first["items"] + rest["items"]]
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and len(set(ids)) == 3 and rest["nextCursor"] is None


async def test_break_glass_over_graphql(client) -> None:
    _, _, seller, customer = await _out_of_scope(client)
    headers = await login(client, seller["email"])
    q = "mutation($id: ID!, $r: String!) { breakGlass(customerId: $id, reason: $r) { id email } }"
    r = (await client.post("/graphql", json={"query": q, "variables": {"id": str(customer), "r": REASON}}, headers=headers)).json()
    assert r["data"]["breakGlass"] == {"id": str(customer), "email": "f•••@example.com"}


# --- policy reload -------------------------------------------------------------------------

def _policy_file(tmp_path: Path, *, associate_email: str = '{ access = "masked", in_book = "full" }') -> Path:
    text = DEFAULT_POLICY_PATH.read_text().replace(
        'email = { access = "masked", in_book = "full" }', f"email = {associate_email}", 1
    )
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


@pytest.fixture
async def file_policy_client(settings, tmp_path):  # noqa: ANN001, ANN201
    path = _policy_file(tmp_path)
    app = create_app(settings.__class__(**{**{f: getattr(settings, f) for f in settings.__struct_fields__}, "policy_file": str(path)}), passwords=FAST_PASSWORDS, manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c, path


async def test_policy_reload_takes_effect_for_the_next_request(file_policy_client) -> None:
    client, path = file_policy_client
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    hq = await make_staff(role="hq_admin")
    customer = await make_customer(store=store, email="lucia@example.com", primary=seller["id"])
    seller_h = await login(client, seller["email"])
    assert (await client.get(f"/api/v1/customers/{customer}", headers=seller_h)).json()["email"] == "lucia@example.com"
    path.write_text(path.read_text().replace('email = { access = "masked", in_book = "full" }', 'email = "masked"', 1))
    r = await client.post("/api/v1/admin/policy/reload", headers=await login(client, hq["email"]))
    assert r.status_code == 200 and r.json()["source"] == str(path)
    assert (await client.get(f"/api/v1/customers/{customer}", headers=seller_h)).json()["email"] == "l•••@example.com"


async def test_invalid_policy_file_is_rejected_and_the_old_policy_stays(file_policy_client) -> None:
    client, path = file_policy_client
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    hq = await make_staff(role="hq_admin")
    customer = await make_customer(store=store, email="lucia@example.com")
    path.write_text(path.read_text().replace('email = { access = "masked", in_book = "full" }', 'email = "partly"', 1))
    r = await client.post("/api/v1/admin/policy/reload", headers=await login(client, hq["email"]))
    assert r.status_code == 422 and r.json()["code"] == "POLICY_INVALID"
    assert "roles.associate.customer.read.email" in r.json()["detail"]
    body = (await client.get(f"/api/v1/customers/{customer}", headers=await login(client, seller["email"]))).json()
    assert body["email"] == "l•••@example.com"


async def test_only_allowed_roles_reload_the_policy(file_policy_client) -> None:
    client, _ = file_policy_client
    store = await make_store()
    manager = await make_staff(role="store_manager", stores=[store])
    r = await client.post("/api/v1/admin/policy/reload", headers=await login(client, manager["email"]))
    assert r.status_code == 403


async def test_reload_without_a_policy_file_is_refused(client) -> None:
    hq = await make_staff(role="hq_admin")
    r = await client.post("/api/v1/admin/policy/reload", headers=await login(client, hq["email"]))
    assert r.status_code == 409 and r.json()["code"] == "POLICY_NOT_FILE_BASED" and "CLIENTELING_POLICY_FILE" in r.json()["detail"]


def test_policy_store_picks_up_a_changed_file_and_ignores_a_broken_one(tmp_path) -> None:
    path = _policy_file(tmp_path)
    store = PolicyStore(path=str(path), check_interval=0)
    first = store.current
    path.write_text(path.read_text().replace("version = 1", "version = 2", 1))
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert store.current.version == 2 and store.current is not first
    path.write_text("version = [")
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert store.current.version == 2 and store.last_error and "TOML" in store.last_error


def test_a_broken_policy_file_stops_the_service_at_start(tmp_path) -> None:
    path = _policy_file(tmp_path, associate_email='"sometimes"')
    with pytest.raises(SettingsError, match="CLIENTELING_POLICY_FILE"):
        load_settings({"CLIENTELING_SECRET_KEY": "k" * 40, "CLIENTELING_POLICY_FILE": str(path)})
