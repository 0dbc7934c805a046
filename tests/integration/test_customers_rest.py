"""Customers over REST: scope, masking, search, paging, updates and bad input, on both DBs."""

from __future__ import annotations

import json

from clienteling.tables import Customer
from tests.factories import grant, make_customer, make_note, make_staff, make_store
from tests.integration.conftest import login


async def _madrid(client):  # noqa: ANN001, ANN202
    """Two stores, an associate and a manager in Madrid, an associate in Bucharest."""
    madrid = await make_store(code="MAD")
    bucharest = await make_store(code="BUC", city="Bucharest", country="RO")
    associate = await make_staff(role="associate", stores=[madrid])
    manager = await make_staff(role="store_manager", stores=[madrid])
    other = await make_staff(role="associate", stores=[bucharest])
    return madrid, bucharest, associate, manager, other


async def test_associate_lists_only_customers_of_their_stores(client) -> None:
    madrid, bucharest, associate, _, _ = await _madrid(client)
    mine = await make_customer(store=madrid, first_name="José", last_name="Núñez")
    await make_customer(store=bucharest, first_name="Ion", last_name="Popescu")
    r = await client.get("/api/v1/customers", headers=await login(client, associate["email"]))
    assert r.status_code == 200
    assert [c["id"] for c in r.json()["items"]] == [str(mine)]
    assert r.json()["nextCursor"] is None


async def test_customer_of_another_store_is_not_found(client) -> None:
    madrid, bucharest, associate, _, _ = await _madrid(client)
    theirs = await make_customer(store=bucharest)
    r = await client.get(f"/api/v1/customers/{theirs}", headers=await login(client, associate["email"]))
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = await client.patch(f"/api/v1/customers/{theirs}", json={"firstName": "X"}, headers=await login(client, associate["email"]))
    assert r.status_code == 404


async def test_associate_sees_masked_contact_outside_own_book_and_full_inside(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    stranger = await make_customer(store=madrid, email="lucia.perez@example.com", phone="+34 600 111 222")
    booked = await make_customer(store=madrid, email="marta.roca@example.com", phone="+34 600 333 444", primary=associate["id"])
    headers = await login(client, associate["email"])
    s = (await client.get(f"/api/v1/customers/{stranger}", headers=headers)).json()
    b = (await client.get(f"/api/v1/customers/{booked}", headers=headers)).json()
    assert s["email"] == "l•••@example.com" and s["phone"] == "•••222" and s["birthdate"] == "--05-17"
    assert b["email"] == "marta.roca@example.com" and b["phone"] == "+34 600 333 444" and b["birthdate"] == "1990-05-17"


async def test_manager_sees_full_contact_for_their_store(client) -> None:
    madrid, _, _, manager, _ = await _madrid(client)
    cid = await make_customer(store=madrid, email="lucia.perez@example.com")
    body = (await client.get(f"/api/v1/customers/{cid}", headers=await login(client, manager["email"]))).json()
    assert body["email"] == "lucia.perez@example.com"


async def test_sizes_are_hidden_without_personalization_consent(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    cid = await make_customer(store=madrid, consents=())
    body = (await client.get(f"/api/v1/customers/{cid}", headers=await login(client, associate["email"]))).json()
    assert body["sizes"] is None and body["preferences"] is None
    r = await client.patch(f"/api/v1/customers/{cid}", json={"sizes": {"shoe": "39"}}, headers=await login(client, associate["email"]))
    assert r.status_code == 403 and r.json()["code"] == "FIELDS_NOT_WRITABLE" and r.json()["fields"] == ["sizes"]


async def test_search_is_accent_and_case_insensitive(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    jose = await make_customer(store=madrid, first_name="José", last_name="Núñez")
    await make_customer(store=madrid, first_name="Ștefan", last_name="Ionescu")
    headers = await login(client, associate["email"])
    for q in ("jose", "JOSE nunez", "Núñez"):
        items = (await client.get("/api/v1/customers", params={"q": q}, headers=headers)).json()["items"]
        assert [c["id"] for c in items] == [str(jose)], q
    items = (await client.get("/api/v1/customers", params={"q": "stefan"}, headers=headers)).json()["items"]
    assert [c["firstName"] for c in items] == ["Ștefan"]


async def test_search_by_contact_never_confirms_a_value_the_caller_cannot_read(client) -> None:
    madrid, _, associate, manager, _ = await _madrid(client)
    await make_customer(store=madrid, email="hidden@example.com", phone="+34 699 000 111")
    booked = await make_customer(store=madrid, email="mine@example.com", phone="+34 699 000 222", primary=associate["id"])
    headers = await login(client, associate["email"])
    assert (await client.get("/api/v1/customers", params={"q": "hidden@example.com"}, headers=headers)).json()["items"] == []
    assert (await client.get("/api/v1/customers", params={"q": "699000111"}, headers=headers)).json()["items"] == []
    found = (await client.get("/api/v1/customers", params={"q": "MINE@example.com"}, headers=headers)).json()["items"]
    assert [c["id"] for c in found] == [str(booked)]
    found = (await client.get("/api/v1/customers", params={"q": "699 000 222"}, headers=headers)).json()["items"]
    assert [c["id"] for c in found] == [str(booked)]
    # the manager reads contact in full, so may search by it
    found = (await client.get("/api/v1/customers", params={"q": "hidden@example.com"}, headers=await login(client, manager["email"]))).json()["items"]
    assert len(found) == 1


async def test_cursor_pagination_walks_every_customer_once(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    ids = {str(await make_customer(store=madrid, first_name="Ana", last_name="García")) for _ in range(3)}
    ids |= {str(await make_customer(store=madrid, first_name=n, last_name="Puig")) for n in ("Jordi", "Montse")}
    headers = await login(client, associate["email"])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/customers", params=params, headers=headers)).json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 5 and set(seen) == ids


async def test_page_size_and_cursor_are_validated(client) -> None:
    _, _, associate, _, _ = await _madrid(client)
    headers = await login(client, associate["email"])
    for params in ({"limit": 201}, {"limit": 0}, {"limit": "ten"}, {"cursor": "not-a-cursor"}, {"q": "x" * 201}):
        r = await client.get("/api/v1/customers", params=params, headers=headers)
        assert r.status_code == 400, params
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/customers", params={"limit": 200}, headers=headers)).status_code == 200


async def test_associate_edits_a_preference_and_the_manager_sees_it(client) -> None:
    madrid, _, associate, manager, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    headers = await login(client, associate["email"])
    r = await client.patch(f"/api/v1/customers/{cid}", json={"preferences": {"colors": ["green"], "brands": ["Loewe"]}}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["preferences"] == {"colors": ["green"], "brands": ["Loewe"]}
    assert r.json()["version"] == 2 and r.headers["etag"].startswith('"v2-')
    seen = (await client.get(f"/api/v1/customers/{cid}", headers=await login(client, manager["email"]))).json()
    assert seen["preferences"] == {"colors": ["green"], "brands": ["Loewe"]}


async def test_an_update_with_one_forbidden_field_changes_nothing(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    cid = await make_customer(store=madrid, first_name="Ana")
    r = await client.patch(f"/api/v1/customers/{cid}", json={"firstName": "Anna", "vip": True}, headers=await login(client, associate["email"]))
    assert r.status_code == 403 and r.json()["fields"] == ["vip"]
    row = await Customer.select(Customer.first_name, Customer.vip, Customer.version).where(Customer.id == cid).first().run()
    assert row == {"first_name": "Ana", "vip": False, "version": 1}


async def test_associate_cannot_overwrite_masked_email_but_can_in_own_book(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    stranger = await make_customer(store=madrid)
    booked = await make_customer(store=madrid, primary=associate["id"])
    headers = await login(client, associate["email"])
    r = await client.patch(f"/api/v1/customers/{stranger}", json={"email": "new@example.com"}, headers=headers)
    assert r.status_code == 403 and r.json()["fields"] == ["email"]
    r = await client.patch(f"/api/v1/customers/{booked}", json={"email": "new@example.com"}, headers=headers)
    assert r.status_code == 200 and r.json()["email"] == "new@example.com"
    found = (await client.get("/api/v1/customers", params={"q": "new@example.com"}, headers=headers)).json()["items"]
    assert [c["id"] for c in found] == [str(booked)]


async def test_manager_reassigns_a_client_book_entry(client) -> None:
    madrid, _, associate, manager, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    r = await client.patch(f"/api/v1/customers/{cid}", json={"primaryAssociateId": str(associate["id"])}, headers=await login(client, manager["email"]))
    assert r.status_code == 200 and r.json()["primaryAssociateId"] == str(associate["id"])
    # now in the associate's book: contact shows in full
    body = (await client.get(f"/api/v1/customers/{cid}", headers=await login(client, associate["email"]))).json()
    assert body["email"] == "ana.garcia@example.com"


async def test_stale_if_match_is_refused_with_412_and_the_current_version(client) -> None:
    madrid, _, _, manager, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    headers = await login(client, manager["email"])
    first = await client.patch(f"/api/v1/customers/{cid}", json={"firstName": "Ana María"}, headers=headers | {"If-Match": '"v1"'})
    assert first.status_code == 200
    stale = await client.patch(f"/api/v1/customers/{cid}", json={"firstName": "Anita"}, headers=headers | {"If-Match": '"v1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "PRECONDITION_FAILED" and stale.json()["currentVersion"] == 2
    assert (await client.get(f"/api/v1/customers/{cid}", headers=headers)).json()["firstName"] == "Ana María"


async def test_if_none_match_answers_304(client) -> None:
    madrid, _, _, manager, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    headers = await login(client, manager["email"])
    etag = (await client.get(f"/api/v1/customers/{cid}", headers=headers)).headers["etag"]
    r = await client.get(f"/api/v1/customers/{cid}", headers=headers | {"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""


async def test_bad_update_bodies_are_400_and_write_nothing(client) -> None:
    madrid, _, _, manager, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    headers = await login(client, manager["email"])
    bad = [
        {"favouriteColour": "red"},  # unknown field
        {"firstName": 42},  # wrong type
        {"firstName": ""},  # too short
        {"email": "not-an-email"},
        {"phone": "call me"},
        {"birthdate": "2999-01-01"},
        {"language": "spanish"},
        {"homeStoreId": "not-a-uuid"},
        {},
    ]
    for body in bad:
        r = await client.patch(f"/api/v1/customers/{cid}", json=body, headers=headers)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["code"] == "VALIDATION_FAILED"
    r = await client.patch(f"/api/v1/customers/{cid}", content=b'{"firstName": ', headers=headers | {"content-type": "application/json"})
    assert r.status_code == 400
    row = await Customer.select(Customer.version).where(Customer.id == cid).first().run()
    assert row["version"] == 1


async def test_oversized_body_is_413(client) -> None:
    madrid, _, _, manager, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    body = json.dumps({"firstName": "x" * 2_000_000}).encode()
    r = await client.patch(f"/api/v1/customers/{cid}", content=body, headers=await login(client, manager["email"]) | {"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_invalid_customer_id_in_path_is_a_problem_not_a_500(client) -> None:
    _, _, associate, _, _ = await _madrid(client)
    r = await client.get("/api/v1/customers/not-a-uuid", headers=await login(client, associate["email"]))
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"  # not a customer route at all


async def test_create_customer_in_own_store(client) -> None:
    madrid, bucharest, associate, _, _ = await _madrid(client)
    headers = await login(client, associate["email"])
    body = {"firstName": "Laia", "lastName": "Vilaseca", "homeStoreId": str(madrid), "email": "laia@example.com", "language": "ca"}
    r = await client.post("/api/v1/customers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["firstName"] == "Laia" and created["language"] == "ca" and r.headers["location"].endswith(created["id"])
    assert (await client.get(f"/api/v1/customers/{created['id']}", headers=headers)).status_code == 200
    r = await client.post("/api/v1/customers", json=body | {"homeStoreId": str(bucharest)}, headers=headers)
    assert r.status_code == 403
    r = await client.post("/api/v1/customers", json=body | {"email": "bad"}, headers=headers)
    assert r.status_code == 400


async def test_create_with_unknown_store_is_400_for_hq(client) -> None:
    hq = await make_staff(role="hq_admin")
    body = {"firstName": "Laia", "lastName": "Vilaseca", "homeStoreId": "00000000-0000-4000-8000-000000000000"}
    r = await client.post("/api/v1/customers", json=body, headers=await login(client, hq["email"]))
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED"


async def test_marketing_sees_email_only_with_marketing_consent_and_never_notes(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    marketing = await make_staff(role="marketing")
    opted_in = await make_customer(store=madrid, email="yes@example.com")
    await grant(customer=opted_in, purpose="marketing_email")
    opted_out = await make_customer(store=madrid, email="no@example.com")
    await make_note(customer=opted_in, author=associate["id"])
    headers = await login(client, marketing["email"])
    assert (await client.get(f"/api/v1/customers/{opted_in}", headers=headers)).json()["email"] == "yes@example.com"
    body = (await client.get(f"/api/v1/customers/{opted_out}", headers=headers)).json()
    assert body["email"] is None and body["birthdate"] is None and body["sizes"] is None
    r = await client.get(f"/api/v1/customers/{opted_in}/notes", headers=headers)
    assert r.status_code == 403
    r = await client.patch(f"/api/v1/customers/{opted_in}", json={"firstName": "X"}, headers=headers)
    assert r.status_code == 403


async def test_withdrawn_consent_hides_sizes_again(client) -> None:
    import datetime as dt

    madrid, _, associate, _, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    await grant(customer=cid, purpose="personalization", status="withdrawn", at=dt.datetime.now(dt.timezone.utc))
    body = (await client.get(f"/api/v1/customers/{cid}", headers=await login(client, associate["email"]))).json()
    assert body["sizes"] is None


async def test_notes_are_added_listed_and_private_ones_stay_private(client) -> None:
    madrid, _, associate, manager, _ = await _madrid(client)
    colleague = await make_staff(role="associate", stores=[madrid])
    cid = await make_customer(store=madrid)
    headers = await login(client, associate["email"])
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Wedding in June", "pinned": True}, headers=headers)
    assert r.status_code == 201 and r.json()["pinned"] is True and r.json()["authorId"] == str(associate["id"])
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "Hard to please", "visibility": "private"}, headers=headers)
    assert r.status_code == 201
    mine = (await client.get(f"/api/v1/customers/{cid}/notes", headers=headers)).json()["items"]
    assert [n["body"] for n in mine] == ["Wedding in June", "Hard to please"]
    theirs = (await client.get(f"/api/v1/customers/{cid}/notes", headers=await login(client, colleague["email"]))).json()["items"]
    assert [n["body"] for n in theirs] == ["Wedding in June"]
    managers = (await client.get(f"/api/v1/customers/{cid}/notes", headers=await login(client, manager["email"]))).json()["items"]
    assert [n["body"] for n in managers] == ["Wedding in June"]
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": ""}, headers=headers)
    assert r.status_code == 400
    r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": "x", "visibility": "public"}, headers=headers)
    assert r.status_code == 400


async def test_every_response_has_a_request_id(client) -> None:
    r = await client.get("/health")
    assert len(r.headers["x-request-id"]) >= 16
    r = await client.get("/api/v1/customers", headers={"X-Request-ID": "tablet-42.req-7"})
    assert r.headers["x-request-id"] == "tablet-42.req-7" and r.json()["requestId"] == "tablet-42.req-7"


async def test_ready_reports_database_and_migrations(client) -> None:
    r = await client.get("/ready")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


async def test_unknown_route_is_a_problem_404(client) -> None:
    r = await client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"


async def test_routing_errors_also_carry_a_request_id(client) -> None:
    r = await client.get("/api/v1/nope", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123" and r.json()["requestId"] == "abc-123"
    r = await client.delete("/health")
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED" and r.headers["x-request-id"]


async def test_validation_errors_do_not_echo_search_terms(client) -> None:
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    r = await client.get("/api/v1/customers", params={"q": "+34612999888", "limit": "abc"}, headers=await login(client, seller["email"]))
    assert r.status_code == 400
    assert "612999888" not in r.text and "limit" in r.json()["detail"]


async def test_associate_may_put_a_new_customer_in_their_own_book_only(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    colleague = await make_staff(role="associate", stores=[madrid])
    headers = await login(client, associate["email"])
    body = {"firstName": "Pau", "lastName": "Ferrer", "homeStoreId": str(madrid), "email": "pau@example.com", "primaryAssociateId": str(associate["id"])}
    r = await client.post("/api/v1/customers", json=body, headers=headers)
    assert r.status_code == 201 and r.json()["email"] == "pau@example.com"  # in book: shown in full
    r = await client.post("/api/v1/customers", json=body | {"primaryAssociateId": str(colleague["id"])}, headers=headers)
    assert r.status_code == 403 and r.json()["fields"] == ["primaryAssociateId"]


async def test_etag_differs_between_views_of_the_same_version(client) -> None:
    madrid, _, associate, manager, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    seller_etag = (await client.get(f"/api/v1/customers/{cid}", headers=await login(client, associate["email"]))).headers["etag"]
    manager_h = await login(client, manager["email"])
    manager_etag = (await client.get(f"/api/v1/customers/{cid}", headers=manager_h)).headers["etag"]
    assert seller_etag != manager_etag and seller_etag.startswith('"v1-') and manager_etag.startswith('"v1-')
    r = await client.get(f"/api/v1/customers/{cid}", headers=manager_h | {"If-None-Match": seller_etag})
    assert r.status_code == 200  # the seller's cached (masked) copy is not the manager's


async def test_cursors_hold_no_names_and_forged_cursors_are_400(client) -> None:
    import base64

    madrid, _, associate, _, _ = await _madrid(client)
    for _ in range(3):
        await make_customer(store=madrid, first_name="Zoë", last_name="Quintana")
    headers = await login(client, associate["email"])
    cursor = (await client.get("/api/v1/customers", params={"limit": 1}, headers=headers)).json()["nextCursor"]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    assert "quintana" not in decoded.lower()
    for forged in (["a", "b"], [1, 2], ["not-a-uuid"], [5], ["00000000-0000-4000-8000-000000000000"]):
        bad = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        r = await client.get("/api/v1/customers", params={"cursor": bad}, headers=headers)
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED", forged


async def test_notes_are_paged(client) -> None:
    madrid, _, associate, _, _ = await _madrid(client)
    cid = await make_customer(store=madrid)
    for i in range(5):
        await make_note(customer=cid, author=associate["id"], body=f"note {i}")
    headers = await login(client, associate["email"])
    first = (await client.get(f"/api/v1/customers/{cid}/notes", params={"limit": 3}, headers=headers)).json()
    rest = (await client.get(f"/api/v1/customers/{cid}/notes", params={"limit": 3, "cursor": first["nextCursor"]}, headers=headers)).json()
    bodies = [n["body"] for n in first["items"] + rest["items"]]
    assert len(first["items"]) == 3 and rest["nextCursor"] is None and sorted(bodies) == [f"note {i}" for i in range(5)]
    assert (await client.get(f"/api/v1/customers/{cid}/notes", params={"limit": 0}, headers=headers)).status_code == 400


async def test_responses_are_brotli_or_gzip_compressed_and_decode_to_the_same_json(client) -> None:
    import gzip

    import brotli

    madrid, _, associate, _, _ = await _madrid(client)
    for i in range(30):
        await make_customer(store=madrid, first_name=f"Ana{i}")
    headers = await login(client, associate["email"])
    plain = await client.get("/api/v1/customers", headers=headers | {"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        async with client.stream("GET", "/api/v1/customers", headers=headers | {"Accept-Encoding": encoding}) as r:
            assert r.headers["content-encoding"] == encoding
            raw = b"".join([chunk async for chunk in r.aiter_raw()])
        assert len(raw) < len(plain.content)
        body = json.loads(decode(raw))
        assert body == plain.json()
