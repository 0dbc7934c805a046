"""Authorization abuse: every REST route and every GraphQL root field, called with no token,
an expired token, a forged signature, a tampered payload, the token of a revoked session, of
a revoked device and of a disabled account, and with another store's ids (IDOR) as an
associate of another store. All are refused (401 / 403 / 404 as documented in docs/api.md),
never answered 200 with data, never 500.

Routes are enumerated from the app's own route table and root fields from the schema it
serves, so a route or field added later is covered without editing this file. Routes that
are public by design are listed in ``PUBLIC`` with the reason; a public route that is not in
the route table fails the test (the list cannot go stale silently).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import graphql
import httpx
import pytest
from litestar.routes import HTTPRoute

from clienteling.tables import Staff
from clienteling.tokens import TokenSigner
from tests.factories import grant, make_customer, make_note, make_staff, make_store
from tests.factories_commerce import make_appointment, make_purchase, make_task, make_wishlist_item
from tests.integration.conftest import login

# (method, path template) -> why it takes no bearer token.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe",
    ("GET", "/ready"): "readiness probe",
    ("GET", "/metrics"): "Prometheus; its own token when CLIENTELING_METRICS_TOKEN is set (tested in test_metrics)",
    ("POST", "/api/v1/auth/login"): "staff sign-in",
    ("POST", "/api/v1/auth/refresh"): "authenticated by the refresh token in the body",
    ("GET", "/graphql"): "GraphiQL page; GraphQL operations are checked field by field below",
    ("POST", "/graphql"): "GraphQL operations are checked field by field below",
}
# Present only once the loyalty/Web Push work lands; public by design (SPEC §5).
OPTIONAL_PUBLIC: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/members/login"): "member sign-in",
    ("GET", "/api/v1/push/vapid-public-key"): "the VAPID public key is public",
}
SIGNED = "/api/v1/integrations/"  # webhooks: HMAC signature instead of a bearer token
SCHEMA_DOCS = "/schema"  # the OpenAPI document and its viewers

UUID_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _routes(app) -> list[tuple[str, str, list[str]]]:  # noqa: ANN001
    """(method, path template, path parameter names) of every HTTP route of the app."""
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        if route.path.startswith(SCHEMA_DOCS):
            continue
        params = UUID_PARAM.findall(route.path)
        template = UUID_PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        for method in sorted(route.methods):
            if method in {"OPTIONS", "HEAD"}:
                continue
            out.append((method, template, params))
    return out


def _is_public(method: str, template: str) -> bool:
    """Public by design (SPEC §5): sign-in, the VAPID key, health, signed webhooks."""
    return (method, template) in PUBLIC or (method, template) in OPTIONAL_PUBLIC or template.startswith(SIGNED)


@dataclass
class World:
    store_a: UUID
    store_b: UUID
    associate_a: dict[str, Any]
    associate_b: dict[str, Any]
    manager_a: dict[str, Any]
    ids: dict[str, str]  # path parameter name -> an id of store A's data


async def _world() -> World:
    store_a = await make_store(city="Madrid")
    store_b = await make_store(city="Bucharest", country="RO")
    associate_a = await make_staff(role="associate", stores=[store_a])
    associate_b = await make_staff(role="associate", stores=[store_b])
    manager_a = await make_staff(role="store_manager", stores=[store_a])
    customer = await make_customer(store=store_a, primary=associate_a["id"])
    await grant(customer=customer, purpose="in_store_recognition")
    note = await make_note(customer=customer, author=associate_a["id"])
    task = await make_task(store=store_a, assignee=associate_a["id"], customer=customer)
    appointment = await make_appointment(customer=customer, associate=associate_a["id"], store=store_a)
    item = await make_wishlist_item(customer=customer, added_by=associate_a["id"])
    purchase = await make_purchase(customer=customer, store=store_a)
    ids = {
        "customer_id": str(customer), "store_id": str(store_a), "note_id": str(note), "task_id": str(task),
        "appointment_id": str(appointment), "item_id": str(item), "purchase_id": str(purchase),
        "staff_id": str(associate_a["id"]), "associate_id": str(associate_a["id"]),
    }
    return World(store_a, store_b, associate_a, associate_b, manager_a, ids)


def _url(template: str, params: list[str], ids: dict[str, str]) -> str:
    url = template
    for name in params:
        url = url.replace("{" + name + "}", ids.get(name, str(uuid4())))
    return url


def _soon(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat().replace("+00:00", "Z")


# Valid bodies, so that an IDOR probe is refused for its target and not for its input
# (validation comes before scope: docs/api.md §8). A write route taking an id that is not
# listed here fails test_associate_of_another_store_reaches_nothing_by_id with its 400.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/customers/{customer_id}/notes"): {"body": "Probe note"},
    ("PATCH", "/api/v1/customers/{customer_id}"): {"firstName": "Probe"},
    ("POST", "/api/v1/customers/{customer_id}/erasure"): {"requestReference": "DSR-PROBE-1"},
    ("POST", "/api/v1/customers/{customer_id}/restriction"): {"restricted": True, "requestReference": "DSR-PROBE-2"},
    ("POST", "/api/v1/customers/{customer_id}/consents"): {"purpose": "marketing_email", "status": "withdrawn", "occurredAt": _soon(-1), "channel": "store_tablet"},
    ("POST", "/api/v1/customers/{customer_id}/wishlist"): {"sku": "SKU-1", "productName": "Probe coat"},
    ("PATCH", "/api/v1/customers/{customer_id}/wishlist/{item_id}"): {"notes": "probe"},
    ("POST", "/api/v1/customers/{customer_id}/tasks"): {"title": "Probe task", "dueAt": _soon(1)},
    ("PATCH", "/api/v1/tasks/{task_id}"): {"title": "Probe"},
    ("POST", "/api/v1/customers/{customer_id}/appointments"): {"startsAt": _soon(3), "endsAt": _soon(3.05)},
    ("PATCH", "/api/v1/appointments/{appointment_id}"): {"notes": "probe"},
}
# Reaching another store's customer here is the feature: a reasoned, time-limited,
# read-only, audited access (docs/permissions.md#break-glass), covered by its own tests.
CROSS_STORE_BY_DESIGN = {("POST", "/api/v1/customers/{customer_id}/break-glass"), "breakGlass"}


async def _call(client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], template: str = "") -> httpx.Response:
    if method in {"GET", "DELETE"}:
        return await client.request(method, url, headers=headers)
    return await client.request(method, url, headers=headers, json=BODIES.get((method, template), {}))


async def _bad_tokens(app, client: httpx.AsyncClient, world: World) -> dict[str, str]:  # noqa: ANN001
    """Every kind of token that must be refused, each for a real staff member of store A."""
    signer: TokenSigner = app.state.services.auth.signer
    good = (await login(client, world.associate_a["email"]))["Authorization"][7:]
    claims = signer.verify(good)
    base = {"staff_id": UUID(claims.sub), "session_id": UUID(claims.sid), "role": claims.role, "store_ids": [UUID(s) for s in claims.stores], "device_id": None}
    expired = signer.issue(**base, now=time.time() - 2 * signer.ttl)
    forged = TokenSigner("not-the-service-secret-" + "z" * 32, signer.ttl).issue(**base)
    # A genuine token whose payload was edited to claim hq_admin: the signature no longer fits.
    escalated_payload = signer.issue(**{**base, "role": "hq_admin"}).split(".")[1]
    tampered = f"v1.{escalated_payload}.{good.split('.')[2]}"

    revoked = (await login(client, world.manager_a["email"]))["Authorization"]
    assert (await client.post("/api/v1/auth/logout", headers={"Authorization": revoked})).status_code == 204

    disabled_staff = await make_staff(role="associate", stores=[world.store_a])
    disabled = (await login(client, disabled_staff["email"]))["Authorization"][7:]
    await Staff.update({Staff.active: False}).where(Staff.id == disabled_staff["id"]).run()

    tokens = {
        "expired": expired, "forged_signature": forged, "tampered_payload": tampered,
        "revoked_session": revoked[7:], "disabled_account": disabled, "garbage": "v1.not-a-token",
    }
    device = await _revoked_device_token(client, world)
    if device:
        tokens["revoked_device"] = device
    return tokens


async def _revoked_device_token(client: httpx.AsyncClient, world: World) -> str | None:
    """A token signed in from a tablet that was revoked afterwards (device registry of the
    offline-sync work; None while that registry is not in this build)."""
    manager = await login(client, world.manager_a["email"])
    device_id = f"tablet-{uuid4().hex[:8]}"
    registered = await client.post("/api/v1/devices", headers=manager, json={"id": device_id, "storeId": str(world.store_a), "label": "Tablet 7"})
    if registered.status_code in {404, 405}:
        return None
    assert registered.status_code == 201, registered.text
    token = (await login(client, world.associate_a["email"], device_id=device_id))["Authorization"]
    revoke = await client.post(f"/api/v1/devices/{device_id}/revoke", headers=manager)
    assert revoke.status_code == 200, revoke.text
    return token[7:]


def test_public_routes_listed_here_exist(app) -> None:  # noqa: ANN001
    present = {(m, t) for m, t, _ in _routes(app)}
    assert set(PUBLIC) <= present, f"listed as public but not routed: {set(PUBLIC) - present}"


async def test_every_route_refuses_a_missing_token(app, client: httpx.AsyncClient) -> None:  # noqa: ANN001
    world = await _world()
    wrong = []
    for method, template, params in _routes(app):
        if _is_public(method, template):
            continue
        r = await _call(client, method, _url(template, params, world.ids), {})
        if r.status_code != 401 or r.json().get("code") != "NOT_AUTHENTICATED" or "bearer" not in r.headers.get("www-authenticate", "").lower():
            wrong.append(f"{method} {template}: {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)


async def test_every_route_refuses_bad_tokens(app, client: httpx.AsyncClient) -> None:  # noqa: ANN001
    world = await _world()
    tokens = await _bad_tokens(app, client, world)
    wrong = []
    for kind, token in tokens.items():
        for method, template, params in _routes(app):
            if _is_public(method, template):
                continue
            r = await _call(client, method, _url(template, params, world.ids), {"Authorization": f"Bearer {token}"})
            if r.status_code != 401 or r.json().get("code") != "TOKEN_INVALID":
                wrong.append(f"{kind}: {method} {template}: {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)


async def test_webhooks_refuse_missing_and_forged_signatures(app, client: httpx.AsyncClient, settings) -> None:  # noqa: ANN001
    from api.app import create_app
    from tests.factories import FAST_PASSWORDS
    from api.settings import load_settings

    secret = "webhook-secret-" + "s" * 24
    signed_app = create_app(load_settings({**{"CLIENTELING_SECRET_KEY": settings.secret_key, "CLIENTELING_DATABASE_URL": settings.database_url}, "CLIENTELING_WEBHOOK_SECRET": secret}), passwords=FAST_PASSWORDS, manage_database=False)
    routes = [(m, t) for m, t, _ in _routes(signed_app) if t.startswith(SIGNED)]
    assert routes, "no webhook routes found"
    body = b'{"externalId":"x-1"}'
    forged = "sha256=" + hmac.new(b"someone-elses-secret", body, hashlib.sha256).hexdigest()
    transport = httpx.ASGITransport(app=signed_app, client=("10.0.0.9", 50000))
    wrong = []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for method, template in routes:
            for name, headers in {"missing": {}, "forged": {"X-Clienteling-Signature": forged}, "malformed": {"X-Clienteling-Signature": "md5=abc"}}.items():
                r = await c.request(method, template, content=body, headers={**headers, "content-type": "application/json"})
                if r.status_code != 401 or r.json().get("code") != "SIGNATURE_INVALID":
                    wrong.append(f"{name}: {method} {template}: {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)


async def test_associate_of_another_store_reaches_nothing_by_id(app, client: httpx.AsyncClient) -> None:  # noqa: ANN001
    """IDOR: every route that takes an id, called by an associate of store B with store A's
    ids, is refused with 403 or 404 (404 where existence must not leak: customers)."""
    world = await _world()
    other = await login(client, world.associate_b["email"])
    wrong, tried = [], 0
    for method, template, params in _routes(app):
        if _is_public(method, template) or not any(p in world.ids for p in params) or (method, template) in CROSS_STORE_BY_DESIGN:
            continue
        tried += 1
        r = await _call(client, method, _url(template, params, world.ids), other, template)
        if r.status_code not in {403, 404}:
            wrong.append(f"{method} {template}: {r.status_code} {r.text[:160]}")
            continue
        # The refusal must not tell an existing record of another store from a missing one.
        missing = await _call(client, method, _url(template, params, {}), other, template)
        if (missing.status_code, missing.json().get("code")) != (r.status_code, r.json().get("code")):
            wrong.append(f"{method} {template}: existing answers {r.status_code} {r.json().get('code')}, missing {missing.status_code} {missing.json().get('code')}")
    assert tried >= 10, f"only {tried} routes take ids: the id table above is out of date"
    assert not wrong, "\n".join(wrong)


async def test_lists_of_another_store_leak_nothing(app, client: httpx.AsyncClient) -> None:  # noqa: ANN001
    world = await _world()
    other = await login(client, world.associate_b["email"])
    for url in ("/api/v1/customers", "/api/v1/customers?q=Garc%C3%ADa", "/api/v1/tasks", "/api/v1/appointments", "/api/v1/client-books/me"):
        r = await client.get(url, headers=other)
        assert r.status_code in {200, 403}, (url, r.status_code, r.text)
        assert world.ids["customer_id"] not in r.text, url


# --------------------------------------------------------------------------- GraphQL


def _schema(app) -> graphql.GraphQLSchema:  # noqa: ANN001
    from graphql_schema.schema import build_schema

    return graphql.build_schema(str(build_schema()))


def _value(type_: graphql.GraphQLInputType, name: str, ids: dict[str, str], depth: int = 0) -> str:
    """A valid GraphQL literal for a required argument (ids from store A where they fit)."""
    t = graphql.get_nullable_type(type_)
    if isinstance(t, graphql.GraphQLList):
        return f"[{_value(t.of_type, name, ids, depth + 1)}]"
    if isinstance(t, graphql.GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, graphql.GraphQLInputObjectType):
        parts = [f"{n}: {_value(f.type, n, ids, depth + 1)}" for n, f in t.fields.items() if graphql.is_required_input_field(f)]
        if not parts:  # an update with nothing in it is refused as empty before any lookup
            text = next((n for n, f in t.fields.items() if graphql.get_named_type(f.type).name == "String"), None)
            parts = [f'{text}: "probe"'] if text else []
        return "{" + ", ".join(parts) + "}"
    key = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    if key in SAMPLE_TEXT:
        return '"' + SAMPLE_TEXT[key] + '"'

    if t.name == "ID":
        key = "customer_id" if key in {"id", "customer_id"} and key not in ids else key
        return '"' + ids.get(key, ids["customer_id"]) + '"'
    if t.name == "Int":
        return "1"
    if t.name == "Float":
        return "1.0"
    if t.name == "Boolean":
        return "true"
    if t.name == "DateTime":
        return '"' + (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat() + '"'
    if t.name == "Date":
        return '"1990-05-17"'
    return '"authz-abuse probe text"'


SAMPLE_TEXT = {"purpose": "marketing_email", "status": "withdrawn", "channel": "store_tablet", "request_reference": "DSR-PROBE-3", "reason": "Customer at the till asked for her order"}


def _documents(app, ids: dict[str, str]) -> list[tuple[str, str]]:  # noqa: ANN001
    """(root field, document) for every Query and Mutation field: required arguments filled,
    ``__typename`` selected (the resolver runs; nothing else is needed to see a refusal)."""
    schema = _schema(app)
    docs = []
    for op, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for name, field in root.fields.items():
            args = [f"{a}: {_value(arg.type, a, ids)}" for a, arg in field.args.items() if graphql.is_required_argument(arg)]
            selection = "" if graphql.is_leaf_type(graphql.get_named_type(field.type)) else " { __typename }"
            docs.append((name, f"{op} {{ {name}{'(' + ', '.join(args) + ')' if args else ''}{selection} }}"))
    return docs


def _refusal(body: dict, field: str) -> str | None:
    """The error code of the refusal, or None if the field answered with data."""
    data = body.get("data") or {}
    if data.get(field) is not None:
        return None
    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
    return codes[0] if codes else None


async def test_every_graphql_field_refuses_missing_and_bad_tokens(app, client: httpx.AsyncClient) -> None:  # noqa: ANN001
    world = await _world()
    tokens = {"none": None, **(await _bad_tokens(app, client, world))}
    wrong = []
    for field, doc in _documents(app, world.ids):
        for kind, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = await client.post("/graphql", json={"query": doc}, headers=headers)
            expected = "NOT_AUTHENTICATED" if token is None else "TOKEN_INVALID"
            if r.status_code != 200 or _refusal(r.json(), field) != expected:
                wrong.append(f"{kind}: {field}: {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)


async def test_every_graphql_field_refuses_another_stores_ids(app, client: httpx.AsyncClient) -> None:  # noqa: ANN001
    """IDOR over GraphQL: every root field taking an id, called by an associate of store B
    with store A's ids, answers no data and a NOT_FOUND or FORBIDDEN error."""
    world = await _world()
    other = await login(client, world.associate_b["email"])
    schema = _schema(app)
    wrong, tried = [], 0
    for field, doc in _documents(app, world.ids):
        root = schema.query_type if doc.startswith("query") else schema.mutation_type
        takes_id = any(graphql.get_named_type(a.type).name == "ID" and graphql.is_required_argument(a) for a in root.fields[field].args.values())
        if not takes_id or field in CROSS_STORE_BY_DESIGN:
            continue
        tried += 1
        r = await client.post("/graphql", json={"query": doc}, headers=other)
        code = _refusal(r.json(), field) if r.status_code == 200 else None
        if code not in {"NOT_FOUND", "FORBIDDEN"}:
            wrong.append(f"{field}: {r.status_code} {r.text[:200]}")
    assert tried >= 5, f"only {tried} fields take ids"
    assert not wrong, "\n".join(wrong)
