"""Seller workflows on both databases: wishlist, tasks and follow-ups, appointments, the
automatic tasks, and how permissions, GDPR restriction, the audit trail and real-time
events apply to them."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from types import SimpleNamespace
from uuid import UUID, uuid4

from clienteling.events import InProcessBus
from clienteling.policy_store import PolicyStore
from clienteling.services.audit import AuditTrail
from clienteling.services.task_scheduler import DueTaskScheduler
from clienteling.services.tasks import generate_due_tasks
from clienteling.tables import Appointment, AuditEntry, Customer, Task, WishlistItem
from domain.events import store_channel
from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import login

UTC = dt.timezone.utc


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def _iso(when: dt.datetime) -> str:
    return when.isoformat()


async def _team(client):  # noqa: ANN001, ANN202
    """Madrid (an associate, a colleague, a manager) and Bucharest (an associate); a Madrid
    customer in the associate's book."""
    madrid = await make_store(code="MAD")
    bucharest = await make_store(code="BUC", city="Bucharest", country="RO")
    associate = await make_staff(role="associate", stores=[madrid])
    colleague = await make_staff(role="associate", stores=[madrid])
    manager = await make_staff(role="store_manager", stores=[madrid])
    far = await make_staff(role="associate", stores=[bucharest])
    customer = await make_customer(store=madrid, primary=associate["id"])
    return SimpleNamespace(
        madrid=madrid, bucharest=bucharest, associate=associate, colleague=colleague, manager=manager, far=far,
        customer=customer, headers=await login(client, associate["email"]),
    )


async def _audit(action: str) -> list[dict]:
    return await AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.seq).output(load_json=True).run()


async def _listen(bus, channels: list[str]):  # noqa: ANN001, ANN202
    """Subscribe before acting: the subscription registers on the first step."""
    stream = bus.subscribe(channels)
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    return stream, first


# --- Wishlist ----------------------------------------------------------------------------


async def test_associate_adds_fulfils_edits_and_removes_a_wishlist_item(client) -> None:
    t = await _team(client)
    base = f"/api/v1/customers/{t.customer}/wishlist"
    r = await client.post(base, json={"sku": "CO-1234", "productName": "Linen coat", "size": "M", "colour": "navy", "notes": "When back in stock"}, headers=t.headers)
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["sku"] == "CO-1234" and item["size"] == "M" and item["fulfilled"] is False and item["addedById"] == str(t.associate["id"])
    assert r.headers["location"].endswith(item["id"])
    page = (await client.get(base, headers=t.headers)).json()
    assert [i["id"] for i in page["items"]] == [item["id"]] and page["nextCursor"] is None
    r = await client.patch(f"{base}/{item['id']}", json={"fulfilled": True, "notes": "Bought in store"}, headers=t.headers)
    assert r.status_code == 200, r.text
    assert r.json()["fulfilled"] is True and r.json()["fulfilledAt"] and r.json()["notes"] == "Bought in store"
    r = await client.patch(f"{base}/{item['id']}", json={"fulfilled": False, "colour": None}, headers=t.headers)
    assert r.json()["fulfilled"] is False and r.json()["fulfilledAt"] is None and r.json()["colour"] is None
    assert (await client.patch(f"{base}/{item['id']}", json={}, headers=t.headers)).status_code == 400
    assert (await client.patch(f"{base}/{item['id']}", json={"sku": "X"}, headers=t.headers)).status_code == 400  # unknown field
    assert (await client.delete(f"{base}/{item['id']}", headers=t.headers)).status_code == 204
    assert (await client.get(base, headers=t.headers)).json()["items"] == []
    assert (await client.patch(f"{base}/{item['id']}", json={"notes": "x"}, headers=t.headers)).status_code == 404


async def test_wishlist_item_of_another_customer_is_not_found_under_this_one(client) -> None:
    t = await _team(client)
    other = await make_customer(store=t.madrid)
    item = (await client.post(f"/api/v1/customers/{t.customer}/wishlist", json={"sku": "A", "productName": "Scarf"}, headers=t.headers)).json()
    r = await client.patch(f"/api/v1/customers/{other}/wishlist/{item['id']}", json={"notes": "x"}, headers=t.headers)
    assert r.status_code == 404


async def test_wishlist_rejects_bad_input_with_field_limits(client) -> None:
    t = await _team(client)
    base = f"/api/v1/customers/{t.customer}/wishlist"
    for body in ({"sku": "", "productName": "x"}, {"sku": "A" * 65, "productName": "x"}, {"sku": "A"}, {"sku": "A", "productName": "x", "size": "S" * 21}, {"sku": "A", "productName": "x", "price": 3}):
        r = await client.post(base, json=body, headers=t.headers)
        assert r.status_code == 400, body


async def test_wishlist_size_needs_the_personalization_consent(client) -> None:
    t = await _team(client)
    customer = await make_customer(store=t.madrid, consents=())
    base = f"/api/v1/customers/{customer}/wishlist"
    r = await client.post(base, json={"sku": "SH-1", "productName": "Loafers", "size": "38"}, headers=t.headers)
    assert r.status_code == 403 and r.json()["code"] == "FIELDS_NOT_WRITABLE" and r.json()["fields"] == ["size"]
    r = await client.post(base, json={"sku": "SH-1", "productName": "Loafers"}, headers=t.headers)
    assert r.status_code == 201
    await WishlistItem.update({WishlistItem.size: "38"}, force=True).run()
    assert (await client.get(base, headers=t.headers)).json()["items"][0]["size"] is None


async def test_wishlist_pages_with_an_opaque_cursor(client) -> None:
    t = await _team(client)
    start = _now() - dt.timedelta(days=1)
    ids = []
    for i in range(5):
        ids.append(uuid4())
        await WishlistItem.insert(WishlistItem(id=ids[-1], customer=t.customer, sku=f"SKU-{i}", product_name=f"Secret product {i}", created_at=start + dt.timedelta(minutes=i))).run()
    base = f"/api/v1/customers/{t.customer}/wishlist"
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(base, params=params, headers=t.headers)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        assert "Secret" not in decoded and "SKU" not in decoded and str(t.customer) not in decoded
    assert seen == [str(i) for i in reversed(ids)]
    assert (await client.get(base, params={"limit": 201}, headers=t.headers)).status_code == 400
    assert (await client.get(base, params={"cursor": "not-a-cursor"}, headers=t.headers)).status_code == 400


async def test_marketing_reads_wishlists_without_notes_and_cannot_change_them(client) -> None:
    t = await _team(client)
    marketing = await make_staff(role="marketing")
    headers = await login(client, marketing["email"])
    base = f"/api/v1/customers/{t.customer}/wishlist"
    item = (await client.post(base, json={"sku": "BG-9", "productName": "Tote bag", "notes": "Asked twice"}, headers=t.headers)).json()
    r = await client.get(base, headers=headers)
    assert r.status_code == 200
    seen = r.json()["items"][0]
    assert seen["sku"] == "BG-9" and seen["productName"] == "Tote bag" and seen["notes"] is None and seen["addedById"] is None
    r = await client.post(base, json={"sku": "X", "productName": "Y"}, headers=headers)
    assert r.status_code == 403
    r = await client.patch(f"{base}/{item['id']}", json={"fulfilled": True}, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "FIELDS_NOT_WRITABLE"
    assert (await client.delete(f"{base}/{item['id']}", headers=headers)).status_code == 403
    # and no tasks or appointments at all
    assert (await client.get(f"/api/v1/customers/{t.customer}/tasks", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/appointments", headers=headers)).status_code == 403


async def test_marketing_sees_no_product_interest_without_personalization_consent(client) -> None:
    t = await _team(client)
    customer = await make_customer(store=t.madrid, consents=())
    await WishlistItem.insert(WishlistItem(id=uuid4(), customer=customer, sku="BG-9", product_name="Tote bag")).run()
    marketing = await make_staff(role="marketing")
    item = (await client.get(f"/api/v1/customers/{customer}/wishlist", headers=await login(client, marketing["email"]))).json()["items"][0]
    assert item["sku"] is None and item["productName"] is None and item["fulfilled"] is None


async def test_compliance_officers_reach_no_workflow_records(client) -> None:
    t = await _team(client)
    officer = await make_staff(role="compliance_officer")
    headers = await login(client, officer["email"])
    for path in ("wishlist", "tasks", "appointments"):
        r = await client.get(f"/api/v1/customers/{t.customer}/{path}", headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN", path
    assert (await client.get("/api/v1/tasks", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/appointments", headers=headers)).status_code == 403
    r = await client.post(f"/api/v1/customers/{t.customer}/tasks", json={"title": "x", "dueAt": _iso(_now())}, headers=headers)
    assert r.status_code == 403


async def test_another_stores_seller_gets_not_found_everywhere(client) -> None:
    t = await _team(client)
    item = (await client.post(f"/api/v1/customers/{t.customer}/wishlist", json={"sku": "A", "productName": "Scarf"}, headers=t.headers)).json()
    task = (await client.post(f"/api/v1/customers/{t.customer}/tasks", json={"title": "Call back", "dueAt": _iso(_now() + dt.timedelta(days=1))}, headers=t.headers)).json()
    start = _now() + dt.timedelta(days=2)
    appt = (await client.post(f"/api/v1/customers/{t.customer}/appointments", json={"startsAt": _iso(start), "endsAt": _iso(start + dt.timedelta(hours=1))}, headers=t.headers)).json()
    far = await login(client, t.far["email"])
    for path in ("wishlist", "tasks", "appointments"):
        assert (await client.get(f"/api/v1/customers/{t.customer}/{path}", headers=far)).status_code == 404, path
    assert (await client.post(f"/api/v1/customers/{t.customer}/wishlist", json={"sku": "A", "productName": "B"}, headers=far)).status_code == 404
    assert (await client.patch(f"/api/v1/customers/{t.customer}/wishlist/{item['id']}", json={"notes": "x"}, headers=far)).status_code == 404
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=far)).status_code == 404
    assert (await client.patch(f"/api/v1/tasks/{task['id']}", json={"action": "complete"}, headers=far)).status_code == 404
    assert (await client.patch(f"/api/v1/appointments/{appt['id']}", json={"action": "cancel"}, headers=far)).status_code == 404
    assert (await client.get("/api/v1/tasks", params={"status": "all"}, headers=far)).json()["items"] == []


async def test_restricted_customer_workflows_are_read_only(client) -> None:
    t = await _team(client)
    task = (await client.post(f"/api/v1/customers/{t.customer}/tasks", json={"title": "Call back", "dueAt": _iso(_now() + dt.timedelta(days=1))}, headers=t.headers)).json()
    item = (await client.post(f"/api/v1/customers/{t.customer}/wishlist", json={"sku": "A", "productName": "Scarf"}, headers=t.headers)).json()
    start = _now() + dt.timedelta(days=2)
    appt = (await client.post(f"/api/v1/customers/{t.customer}/appointments", json={"startsAt": _iso(start), "endsAt": _iso(start + dt.timedelta(hours=1))}, headers=t.headers)).json()
    await Customer.update({Customer.restricted_at: _now()}).where(Customer.id == t.customer).run()
    for path in ("wishlist", "tasks", "appointments"):
        r = await client.get(f"/api/v1/customers/{t.customer}/{path}", headers=t.headers)
        assert r.status_code == 200 and len(r.json()["items"]) == 1, path
    later = _now() + dt.timedelta(days=3)
    writes = [
        client.post(f"/api/v1/customers/{t.customer}/wishlist", json={"sku": "B", "productName": "Hat"}, headers=t.headers),
        client.patch(f"/api/v1/customers/{t.customer}/wishlist/{item['id']}", json={"fulfilled": True}, headers=t.headers),
        client.delete(f"/api/v1/customers/{t.customer}/wishlist/{item['id']}", headers=t.headers),
        client.post(f"/api/v1/customers/{t.customer}/tasks", json={"title": "x", "dueAt": _iso(later)}, headers=t.headers),
        client.patch(f"/api/v1/tasks/{task['id']}", json={"action": "complete"}, headers=t.headers),
        client.post(f"/api/v1/customers/{t.customer}/appointments", json={"startsAt": _iso(later), "endsAt": _iso(later + dt.timedelta(hours=1))}, headers=t.headers),
        client.patch(f"/api/v1/appointments/{appt['id']}", json={"action": "cancel"}, headers=t.headers),
    ]
    for write in writes:
        r = await write
        assert r.status_code == 403 and r.json()["code"] == "PROCESSING_RESTRICTED", r.request.url


async def test_workflow_access_is_audited_with_field_names_and_never_values(client) -> None:
    t = await _team(client)
    base = f"/api/v1/customers/{t.customer}/wishlist"
    await client.post(base, json={"sku": "ZX-777", "productName": "Velvet blazer", "notes": "Wedding in June"}, headers=t.headers)
    await client.get(base, headers=t.headers)
    await client.post(f"/api/v1/customers/{t.customer}/tasks", json={"title": "Call about the wedding", "dueAt": _iso(_now() + dt.timedelta(days=1))}, headers=t.headers)
    await client.get("/api/v1/tasks", headers=t.headers)
    start = _now() + dt.timedelta(days=1)
    await client.post(f"/api/v1/customers/{t.customer}/appointments", json={"startsAt": _iso(start), "endsAt": _iso(start + dt.timedelta(hours=1)), "notes": "Fitting for the wedding"}, headers=t.headers)
    await client.get(f"/api/v1/customers/{t.customer}/appointments", headers=t.headers)
    for action in ("wishlist_write", "wishlist_read", "task_write", "task_read", "appointment_write", "appointment_read"):
        entries = await _audit(action)
        assert len(entries) == 1, action
        entry = entries[0]
        assert entry["actor_id"] == t.associate["id"] and entry["customer_ids"] == [str(t.customer)]
        assert entry["fields"] and all("." in f for f in entry["fields"])
    assert "wishlist.sku" in (await _audit("wishlist_write"))[0]["fields"]
    assert "appointment.notes" in (await _audit("appointment_read"))[0]["fields"]
    everything = json.dumps([dict(e) for e in await AuditEntry.select().run()], default=str)
    for value in ("ZX-777", "Velvet", "Wedding", "wedding"):
        assert value not in everything
    verdict = (await client.get("/api/v1/audit/verify", headers=await login(client, (await make_staff(role="compliance_officer"))["email"]))).json()
    assert verdict["ok"] is True


# --- Tasks -------------------------------------------------------------------------------


async def _task(client, t, *, headers=None, title: str = "Call back", due: dt.datetime | None = None, assignee=None) -> dict:  # noqa: ANN001
    body = {"title": title, "dueAt": _iso(due or _now() + dt.timedelta(days=1))}
    if assignee:
        body["assigneeId"] = str(assignee)
    r = await client.post(f"/api/v1/customers/{t.customer}/tasks", json=body, headers=headers or t.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_associate_creates_completes_and_reopens_their_task(client) -> None:
    t = await _team(client)
    task = await _task(client, t, title="Send the new catalogue")
    assert task["status"] == "open" and task["assigneeId"] == str(t.associate["id"]) and task["kind"] == "follow_up" and task["storeId"] == str(t.madrid)
    mine = (await client.get("/api/v1/tasks", params={"assignee": "me"}, headers=t.headers)).json()["items"]
    assert [x["id"] for x in mine] == [task["id"]]
    assert [x["id"] for x in (await client.get(f"/api/v1/customers/{t.customer}/tasks", headers=t.headers)).json()["items"]] == [task["id"]]
    r = await client.patch(f"/api/v1/tasks/{task['id']}", json={"action": "complete"}, headers=t.headers)
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["completedById"] == str(t.associate["id"])
    assert (await client.patch(f"/api/v1/tasks/{task['id']}", json={"action": "complete"}, headers=t.headers)).status_code == 409
    assert (await client.get("/api/v1/tasks", headers=t.headers)).json()["items"] == []
    assert [x["id"] for x in (await client.get("/api/v1/tasks", params={"status": "done"}, headers=t.headers)).json()["items"]] == [task["id"]]
    r = await client.patch(f"/api/v1/tasks/{task['id']}", json={"action": "reopen"}, headers=t.headers)
    assert r.json()["status"] == "open" and r.json()["completedAt"] is None
    r = await client.patch(f"/api/v1/tasks/{task['id']}", json={"title": "Send the winter catalogue", "details": "By post"}, headers=t.headers)
    assert r.json()["title"] == "Send the winter catalogue" and r.json()["details"] == "By post"
    assert (await client.patch(f"/api/v1/tasks/{task['id']}", json={}, headers=t.headers)).status_code == 400
    assert (await client.patch(f"/api/v1/tasks/{task['id']}", json={"action": "archive"}, headers=t.headers)).status_code == 400


async def test_snoozing_needs_a_future_time_and_hides_the_task_until_then(client) -> None:
    t = await _team(client)
    task = await _task(client, t)
    url = f"/api/v1/tasks/{task['id']}"
    assert (await client.patch(url, json={"action": "snooze"}, headers=t.headers)).status_code == 400
    assert (await client.patch(url, json={"action": "snooze", "until": _iso(_now() - dt.timedelta(minutes=1))}, headers=t.headers)).status_code == 400
    assert (await client.patch(url, json={"action": "snooze", "until": _iso(_now() + dt.timedelta(days=400))}, headers=t.headers)).status_code == 400
    assert (await client.patch(url, json={"until": _iso(_now() + dt.timedelta(days=1))}, headers=t.headers)).status_code == 400
    assert (await client.patch(url, json={"action": "snooze", "until": "2030-01-01T10:00:00"}, headers=t.headers)).status_code == 400  # no offset
    until = _now() + dt.timedelta(days=2)
    r = await client.patch(url, json={"action": "snooze", "until": _iso(until)}, headers=t.headers)
    assert r.status_code == 200 and r.json()["status"] == "snoozed"
    assert (await client.get("/api/v1/tasks", headers=t.headers)).json()["items"] == []
    assert [x["id"] for x in (await client.get("/api/v1/tasks", params={"status": "snoozed"}, headers=t.headers)).json()["items"]] == [task["id"]]
    await Task.update({Task.snoozed_until: _now() - dt.timedelta(seconds=1)}).where(Task.id == UUID(task["id"])).run()
    assert [x["status"] for x in (await client.get("/api/v1/tasks", headers=t.headers)).json()["items"]] == ["open"]
    await client.patch(url, json={"action": "complete"}, headers=t.headers)
    assert (await client.patch(url, json={"action": "snooze", "until": _iso(until)}, headers=t.headers)).status_code == 409


async def test_only_managers_give_tasks_to_others_and_sellers_may_take_one(client) -> None:
    t = await _team(client)
    r = await client.post(f"/api/v1/customers/{t.customer}/tasks", json={"title": "x", "dueAt": _iso(_now()), "assigneeId": str(t.colleague["id"])}, headers=t.headers)
    assert r.status_code == 403
    manager = await login(client, t.manager["email"])
    theirs = await _task(client, t, headers=manager, assignee=t.colleague["id"])
    assert theirs["assigneeId"] == str(t.colleague["id"]) and theirs["createdById"] == str(t.manager["id"])
    url = f"/api/v1/tasks/{theirs['id']}"
    assert (await client.patch(url, json={"action": "complete"}, headers=t.headers)).status_code == 403
    assert (await client.patch(url, json={"title": "mine now"}, headers=t.headers)).status_code == 403
    mine = await _task(client, t)
    r = await client.patch(f"/api/v1/tasks/{mine['id']}", json={"action": "reassign", "assigneeId": str(t.colleague["id"])}, headers=t.headers)
    assert r.status_code == 403
    r = await client.patch(url, json={"action": "reassign", "assigneeId": str(t.associate["id"])}, headers=t.headers)
    assert r.status_code == 200 and r.json()["assigneeId"] == str(t.associate["id"])
    # managers reassign within the store, to active sellers only
    inactive = await make_staff(role="associate", stores=[t.madrid], active=False)
    for target in (t.far["id"], inactive["id"], uuid4()):
        r = await client.patch(url, json={"action": "reassign", "assigneeId": str(target)}, headers=manager)
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED"
    r = await client.patch(url, json={"action": "reassign", "assigneeId": str(t.colleague["id"])}, headers=manager)
    assert r.status_code == 200 and r.json()["assigneeId"] == str(t.colleague["id"])
    # task lists: sellers see their own; managers the store's, or one seller's
    assert (await client.get("/api/v1/tasks", params={"assignee": str(t.colleague["id"])}, headers=t.headers)).status_code == 403
    assert (await client.get("/api/v1/tasks", params={"assignee": "nobody"}, headers=t.headers)).status_code == 400
    assert {x["id"] for x in (await client.get("/api/v1/tasks", headers=t.headers)).json()["items"]} == {mine["id"]}
    assert {x["id"] for x in (await client.get("/api/v1/tasks", headers=manager)).json()["items"]} == {mine["id"], theirs["id"]}
    assert [x["id"] for x in (await client.get("/api/v1/tasks", params={"assignee": str(t.colleague["id"])}, headers=manager)).json()["items"]] == [theirs["id"]]
    r = await client.patch(url, json={"action": "complete"}, headers=manager)
    assert r.status_code == 200 and r.json()["completedById"] == str(t.manager["id"])


async def test_task_assignment_is_announced_on_the_store_channel(client, app) -> None:  # noqa: ANN001
    t = await _team(client)
    manager = await login(client, t.manager["email"])
    stream, first = await _listen(app.state.services.events, [store_channel(t.madrid)])
    try:
        task = await _task(client, t, headers=manager, assignee=t.colleague["id"])
        event = await asyncio.wait_for(first, 2)
        assert (event.kind, event.staff_id, event.store_id, event.ref_id, event.customer_id) == (
            "task_assigned", t.colleague["id"], t.madrid, UUID(task["id"]), t.customer,
        )
        await client.patch(f"/api/v1/tasks/{task['id']}", json={"action": "reassign", "assigneeId": str(t.associate["id"])}, headers=manager)
        event = await asyncio.wait_for(stream.__anext__(), 2)
        assert event.kind == "task_assigned" and event.staff_id == t.associate["id"] and event.ref_id == UUID(task["id"])
    finally:
        await stream.aclose()


async def test_tasks_page_by_due_date_and_filter_by_due_before(client) -> None:
    t = await _team(client)
    start = _now() + dt.timedelta(days=1)
    created = [await _task(client, t, title=f"task {i}", due=start + dt.timedelta(hours=i)) for i in range(5)]
    seen, cursor = [], None
    while True:
        page = (await client.get("/api/v1/tasks", params={"limit": 2} | ({"cursor": cursor} if cursor else {}), headers=t.headers)).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == [c["id"] for c in created]
    due_before = _iso(start + dt.timedelta(hours=2))
    page = (await client.get("/api/v1/tasks", params={"dueBefore": due_before}, headers=t.headers)).json()
    assert [x["id"] for x in page["items"]] == [c["id"] for c in created[:2]]
    assert (await client.get("/api/v1/tasks", params={"status": "later"}, headers=t.headers)).status_code == 400


# --- Appointments ------------------------------------------------------------------------


def _slot(day: int, hour: int, minutes: int = 60) -> tuple[dt.datetime, dt.datetime]:
    start = (_now() + dt.timedelta(days=day)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(minutes=minutes)


async def _book(client, t, start: dt.datetime, end: dt.datetime, *, headers=None, **extra):  # noqa: ANN001, ANN003, ANN202
    body = {"startsAt": _iso(start), "endsAt": _iso(end), **extra}
    return await client.post(f"/api/v1/customers/{t.customer}/appointments", json=body, headers=headers or t.headers)


async def test_associate_books_reschedules_and_cancels_an_appointment(client) -> None:
    t = await _team(client)
    start, end = _slot(2, 10)
    r = await _book(client, t, start, end, channel="video", notes="Bridal fitting")
    assert r.status_code == 201, r.text
    appt = r.json()
    assert appt["status"] == "booked" and appt["channel"] == "video" and appt["associateId"] == str(t.associate["id"]) and appt["storeId"] == str(t.madrid)
    schedule = (await client.get("/api/v1/appointments", params={"associate": "me", "from": _iso(start - dt.timedelta(days=1)), "to": _iso(end + dt.timedelta(days=1))}, headers=t.headers)).json()
    assert [a["id"] for a in schedule["items"]] == [appt["id"]]
    assert [a["id"] for a in (await client.get(f"/api/v1/customers/{t.customer}/appointments", headers=t.headers)).json()["items"]] == [appt["id"]]
    new_start = start + dt.timedelta(days=1, hours=2)
    r = await client.patch(f"/api/v1/appointments/{appt['id']}", json={"action": "reschedule", "startsAt": _iso(new_start)}, headers=t.headers)
    assert r.status_code == 200, r.text
    assert dt.datetime.fromisoformat(r.json()["startsAt"]) == new_start and dt.datetime.fromisoformat(r.json()["endsAt"]) == new_start + dt.timedelta(hours=1)
    r = await client.patch(f"/api/v1/appointments/{appt['id']}", json={"action": "cancel"}, headers=t.headers)
    assert r.json()["status"] == "cancelled"
    assert (await client.patch(f"/api/v1/appointments/{appt['id']}", json={"action": "cancel"}, headers=t.headers)).status_code == 409
    assert (await client.patch(f"/api/v1/appointments/{appt['id']}", json={"action": "reschedule", "startsAt": _iso(new_start)}, headers=t.headers)).status_code == 409


async def test_appointment_times_are_validated(client) -> None:
    t = await _team(client)
    start, end = _slot(1, 10)
    cases = [
        (start, start - dt.timedelta(minutes=30)),  # ends before it starts
        (start, start + dt.timedelta(hours=8, minutes=1)),  # longer than 8 h
        (_now() - dt.timedelta(hours=1), _now() + dt.timedelta(hours=1)),  # starts in the past
    ]
    for s, e in cases:
        r = await _book(client, t, s, e)
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED", (s, e)
    assert (await client.post(f"/api/v1/customers/{t.customer}/appointments", json={"startsAt": start.replace(tzinfo=None).isoformat(), "endsAt": end.replace(tzinfo=None).isoformat()}, headers=t.headers)).status_code == 400
    assert (await _book(client, t, start, end, channel="carrier_pigeon")).status_code == 400
    assert (await _book(client, t, start, start + dt.timedelta(hours=8))).status_code == 201


async def test_overlapping_bookings_of_one_associate_are_refused(client) -> None:
    t = await _team(client)
    start, end = _slot(3, 10)
    first = (await _book(client, t, start, end)).json()
    r = await _book(client, t, start + dt.timedelta(minutes=30), end + dt.timedelta(minutes=30))
    assert r.status_code == 409 and r.json()["code"] == "APPOINTMENT_OVERLAP"
    assert (await _book(client, t, start - dt.timedelta(hours=1), start)).status_code == 201  # back to back is fine
    later = (await _book(client, t, end, end + dt.timedelta(hours=1))).json()
    r = await client.patch(f"/api/v1/appointments/{later['id']}", json={"action": "reschedule", "startsAt": _iso(start + dt.timedelta(minutes=15))}, headers=t.headers)
    assert r.status_code == 409 and r.json()["code"] == "APPOINTMENT_OVERLAP"
    colleague = await login(client, t.colleague["email"])
    assert (await _book(client, t, start, end, headers=colleague)).status_code == 201  # another diary
    await client.patch(f"/api/v1/appointments/{first['id']}", json={"action": "cancel"}, headers=t.headers)
    assert (await _book(client, t, start + dt.timedelta(minutes=30), end)).status_code == 201  # the slot is free again


async def test_concurrent_overlapping_bookings_never_both_succeed(client) -> None:
    t = await _team(client)
    for day in range(1, 6):
        start, end = _slot(day, 15)
        results = await asyncio.gather(
            _book(client, t, start, end),
            _book(client, t, start + dt.timedelta(minutes=20), end + dt.timedelta(minutes=20)),
        )
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    booked = await Appointment.count().where(Appointment.associate == t.associate["id"]).run()
    assert booked == 5


async def test_outcome_is_recorded_only_once_the_appointment_started(client) -> None:
    t = await _team(client)
    start, end = _slot(1, 9)
    appt = (await _book(client, t, start, end)).json()
    url = f"/api/v1/appointments/{appt['id']}"
    assert (await client.patch(url, json={"action": "held"}, headers=t.headers)).status_code == 409
    await Appointment.update({Appointment.starts_at: _now() - dt.timedelta(hours=1), Appointment.ends_at: _now()}).where(Appointment.id == UUID(appt["id"])).run()
    r = await client.patch(url, json={"action": "held", "notes": "Bought the coat"}, headers=t.headers)
    assert r.status_code == 200 and r.json()["status"] == "held" and r.json()["notes"] == "Bought the coat"
    assert (await client.patch(url, json={"action": "no_show"}, headers=t.headers)).json()["status"] == "no_show"


async def test_managers_book_for_colleagues_and_sellers_only_for_themselves(client) -> None:
    t = await _team(client)
    start, end = _slot(2, 11)
    r = await _book(client, t, start, end, associateId=str(t.colleague["id"]))
    assert r.status_code == 403
    manager = await login(client, t.manager["email"])
    r = await _book(client, t, start, end, headers=manager, associateId=str(t.colleague["id"]))
    assert r.status_code == 201 and r.json()["associateId"] == str(t.colleague["id"])
    r = await _book(client, t, start, end, headers=manager, associateId=str(t.far["id"]))
    assert r.status_code == 400
    # a colleague's diary is visible within the store
    items = (await client.get("/api/v1/appointments", params={"associate": str(t.colleague["id"])}, headers=t.headers)).json()["items"]
    assert len(items) == 1 and (await client.get("/api/v1/appointments", params={"associate": "x"}, headers=t.headers)).status_code == 400
    far = await login(client, t.far["email"])
    assert (await client.get("/api/v1/appointments", params={"associate": str(t.colleague["id"])}, headers=far)).json()["items"] == []


async def test_schedule_window_is_bounded(client) -> None:
    t = await _team(client)
    now = _now()
    assert (await client.get("/api/v1/appointments", params={"from": _iso(now), "to": _iso(now + dt.timedelta(days=63))}, headers=t.headers)).status_code == 400
    assert (await client.get("/api/v1/appointments", params={"from": _iso(now), "to": _iso(now - dt.timedelta(days=1))}, headers=t.headers)).status_code == 400


# --- Batch reads for the customer 360 ----------------------------------------------------


async def test_batch_reads_return_each_reachable_customers_records(client, app) -> None:  # noqa: ANN001
    t = await _team(client)
    second = await make_customer(store=t.madrid)
    far_customer = await make_customer(store=t.bucharest)
    await WishlistItem.insert(WishlistItem(id=uuid4(), customer=far_customer, sku="F", product_name="Far")).run()
    for cid in (t.customer, second):
        await client.post(f"/api/v1/customers/{cid}/wishlist", json={"sku": "A", "productName": "Scarf"}, headers=t.headers)
        await client.post(f"/api/v1/customers/{cid}/tasks", json={"title": "Call", "dueAt": _iso(_now() + dt.timedelta(days=1))}, headers=t.headers)
    done = await _task(client, t)
    await client.patch(f"/api/v1/tasks/{done['id']}", json={"action": "complete"}, headers=t.headers)
    start, end = _slot(1, 12)
    await _book(client, t, start, end)
    services = app.state.services
    principal = await services.auth.authenticate(t.headers["Authorization"][7:])
    ids = [t.customer, second, far_customer, uuid4()]
    wish = await services.wishlist.for_customers(principal, ids)
    tasks = await services.tasks.open_for_customers(principal, ids)
    appts = await services.appointments.upcoming_for_customers(principal, ids)
    assert [len(wish[i]) for i in ids] == [1, 1, 0, 0]
    assert [len(tasks[i]) for i in ids] == [1, 1, 0, 0]
    assert [len(appts[i]) for i in ids] == [1, 0, 0, 0]
    reads = await _audit("wishlist_read")
    assert sorted(reads[-1]["customer_ids"]) == sorted([str(t.customer), str(second)])


# --- Automatic tasks ---------------------------------------------------------------------


async def _customer_with(store: UUID, *, primary: UUID | None, birth_mmdd: int | None = None, last_purchase_at: dt.datetime | None = None, **values) -> UUID:  # noqa: ANN003
    cid = await make_customer(store=store, primary=primary)
    await Customer.update({Customer.birth_mmdd: birth_mmdd, Customer.last_purchase_at: last_purchase_at, **{getattr(Customer, k): v for k, v in values.items()}}).where(Customer.id == cid).run()
    return cid


async def test_generate_due_tasks_creates_birthday_and_lapsed_tasks_once(clean_db) -> None:  # noqa: ANN001
    store = await make_store(code="MAD")
    seller = await make_staff(role="associate", stores=[store])
    gone = await make_staff(role="associate", stores=[store], active=False)
    now = dt.datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    birthday = await _customer_with(store, primary=seller["id"], birth_mmdd=615)
    today = await _customer_with(store, primary=seller["id"], birth_mmdd=610)
    await _customer_with(store, primary=seller["id"], birth_mmdd=620)  # too far ahead
    await _customer_with(store, primary=seller["id"], birth_mmdd=609)  # yesterday
    await _customer_with(store, primary=None, birth_mmdd=612)  # nobody to ask
    await _customer_with(store, primary=gone["id"], birth_mmdd=612)  # seller left
    await _customer_with(store, primary=seller["id"], birth_mmdd=612, restricted_at=now)
    await _customer_with(store, primary=seller["id"], birth_mmdd=612, erased_at=now, deleted_at=now)
    lapsed = await _customer_with(store, primary=seller["id"], last_purchase_at=now - dt.timedelta(days=200))
    await _customer_with(store, primary=seller["id"], last_purchase_at=now - dt.timedelta(days=30))
    bus = InProcessBus()
    stream, first = await _listen(bus, [store_channel(store)])
    try:
        report = await generate_due_tasks(now, audit=AuditTrail(PolicyStore()), events=bus)
        assert (report.birthday, report.lapsed, report.skipped) == (2, 1, False)
        event = await asyncio.wait_for(first, 2)
        assert event.kind == "task_assigned" and event.staff_id == seller["id"] and event.store_id == store
    finally:
        await stream.aclose()
    rows = {r["source_ref"]: r for r in await Task.select().run()}
    lapsed_month = (now - dt.timedelta(days=200)).strftime("%Y-%m")
    assert set(rows) == {f"birthday:{birthday}:2026", f"birthday:{today}:2026", f"lapsed:{lapsed}:{lapsed_month}"}
    task = rows[f"birthday:{birthday}:2026"]
    assert task["assignee"] == seller["id"] and task["store"] == store and task["kind"] == "birthday" and task["created_by"] is None
    assert task["due_at"] == dt.datetime(2026, 6, 14, 22, 0, tzinfo=UTC)  # midnight in Madrid (CEST)
    assert rows[f"lapsed:{lapsed}:{lapsed_month}"]["kind"] == "lapsed"
    # again, and a month later: nothing new (one lapsed task per lapse, one birthday task a year)
    assert await generate_due_tasks(now) == type(report)(birthday=0, lapsed=0)
    assert (await generate_due_tasks(now + dt.timedelta(days=31))).lapsed == 0
    assert await Task.count().run() == 3
    entries = await _audit("task_write")
    assert len(entries) == 1 and entries[0]["actor_id"] is None and entries[0]["actor_role"] == "system"
    assert sorted(entries[0]["customer_ids"]) == sorted(str(c) for c in (birthday, today, lapsed))


async def test_birthday_window_wraps_into_the_new_year(clean_db) -> None:  # noqa: ANN001
    store = await make_store(code="MAD")
    seller = await make_staff(role="associate", stores=[store])
    january = await _customer_with(store, primary=seller["id"], birth_mmdd=102)
    new_year = await _customer_with(store, primary=seller["id"], birth_mmdd=101)
    await _customer_with(store, primary=seller["id"], birth_mmdd=1227)  # just passed
    report = await generate_due_tasks(dt.datetime(2026, 12, 28, 12, 0, tzinfo=UTC))
    assert report.birthday == 2
    refs = {r["source_ref"] for r in await Task.select(Task.source_ref).run()}
    assert refs == {f"birthday:{january}:2027", f"birthday:{new_year}:2027"}


async def test_a_lapsed_client_gets_a_new_task_after_buying_and_lapsing_again(clean_db) -> None:  # noqa: ANN001
    store = await make_store(code="MAD")
    seller = await make_staff(role="associate", stores=[store])
    now = dt.datetime(2026, 6, 10, tzinfo=UTC)
    cid = await _customer_with(store, primary=seller["id"], last_purchase_at=now - dt.timedelta(days=181))
    assert (await generate_due_tasks(now)).lapsed == 1
    await Customer.update({Customer.last_purchase_at: now + dt.timedelta(days=10)}).where(Customer.id == cid).run()
    assert (await generate_due_tasks(now + dt.timedelta(days=100))).lapsed == 0
    assert (await generate_due_tasks(now + dt.timedelta(days=200))).lapsed == 1



async def test_concurrent_generation_runs_create_each_task_once(clean_db) -> None:  # noqa: ANN001
    store = await make_store(code="MAD")
    seller = await make_staff(role="associate", stores=[store])
    now = dt.datetime(2026, 6, 10, tzinfo=UTC)
    for i in range(20):
        await _customer_with(store, primary=seller["id"], birth_mmdd=611 + i % 5, last_purchase_at=now - dt.timedelta(days=365 + i))
    reports = await asyncio.gather(*(generate_due_tasks(now) for _ in range(4)))
    assert sum(r.birthday for r in reports) == 20 and sum(r.lapsed for r in reports) == 20
    assert await Task.count().run() == 40

async def test_the_background_loop_generates_tasks_and_stops_cleanly(clean_db) -> None:  # noqa: ANN001
    store = await make_store(code="MAD")
    seller = await make_staff(role="associate", stores=[store])
    await _customer_with(store, primary=seller["id"], last_purchase_at=_now() - dt.timedelta(days=365))
    scheduler = DueTaskScheduler(generate_due_tasks, interval=0.05, first_delay=0)
    scheduler.start()
    try:
        for _ in range(200):
            if scheduler.runs >= 3:
                break
            await asyncio.sleep(0.02)
    finally:
        await scheduler.stop()
    assert scheduler.runs >= 3 and not scheduler.running
    assert await Task.count().where(Task.kind == "lapsed").run() == 1


async def test_the_app_starts_and_stops_its_task_loop(app) -> None:  # noqa: ANN001
    async with app.lifespan():
        assert app.state.due_tasks.running and app.state.due_tasks.interval == 600
    assert not app.state.due_tasks.running


# --- GraphQL -----------------------------------------------------------------------------


async def _gql(client, query: str, variables: dict, headers: dict) -> dict:  # noqa: ANN001
    r = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_graphql_workflows_for_a_seller(client) -> None:
    t = await _team(client)
    cid = str(t.customer)
    add = await _gql(client, "mutation($c: ID!) { addWishlistItem(customerId: $c, input: {sku: \"SC-1\", productName: \"Silk scarf\", colour: \"red\"}) { id sku fulfilled } }", {"c": cid}, t.headers)
    item = add["data"]["addWishlistItem"]
    assert item["sku"] == "SC-1" and item["fulfilled"] is False
    upd = await _gql(client, "mutation($id: ID!) { updateWishlistItem(id: $id, input: {fulfilled: true}) { fulfilled } }", {"id": item["id"]}, t.headers)
    assert upd["data"]["updateWishlistItem"]["fulfilled"] is True
    due = _iso(_now() + dt.timedelta(days=1))
    created = await _gql(client, "mutation($c: ID!, $due: DateTime!) { createTask(customerId: $c, input: {title: \"Call\", dueAt: $due}) { id status kind } }", {"c": cid, "due": due}, t.headers)
    task = created["data"]["createTask"]
    assert task["status"] == "OPEN" and task["kind"] == "follow_up"
    mine = await _gql(client, "{ myTasks(first: 10) { edges { cursor node { id title } } pageInfo { hasNextPage } } }", {}, t.headers)
    assert [e["node"]["id"] for e in mine["data"]["myTasks"]["edges"]] == [task["id"]]
    until = _iso(_now() + dt.timedelta(days=3))
    snoozed = await _gql(client, "mutation($id: ID!, $u: DateTime!) { updateTask(id: $id, input: {action: SNOOZE, until: $u}) { status snoozedUntil } }", {"id": task["id"], "u": until}, t.headers)
    assert snoozed["data"]["updateTask"]["status"] == "SNOOZED"
    done = await _gql(client, "mutation($id: ID!) { updateTask(id: $id, input: {action: COMPLETE}) { status completedById } }", {"id": task["id"]}, t.headers)
    assert done["data"]["updateTask"] == {"status": "DONE", "completedById": str(t.associate["id"])}
    other = await _gql(client, "mutation($id: ID!, $a: ID!) { updateTask(id: $id, input: {action: REASSIGN, assigneeId: $a}) { id } }", {"id": task["id"], "a": str(t.colleague["id"])}, t.headers)
    assert other["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "CONFLICT")
    start, end = _slot(2, 16)
    book = "mutation($c: ID!, $s: DateTime!, $e: DateTime!) { bookAppointment(customerId: $c, input: {startsAt: $s, endsAt: $e, channel: PHONE}) { id status channel } }"
    booked = await _gql(client, book, {"c": cid, "s": _iso(start), "e": _iso(end)}, t.headers)
    appt = booked["data"]["bookAppointment"]
    assert appt["status"] == "BOOKED" and appt["channel"] == "PHONE"
    clash = await _gql(client, book, {"c": cid, "s": _iso(start), "e": _iso(end)}, t.headers)
    assert clash["errors"][0]["extensions"]["code"] == "APPOINTMENT_OVERLAP"
    sched = await _gql(client, "query($f: DateTime!, $t: DateTime!) { mySchedule(from: $f, to: $t) { id startsAt } }", {"f": _iso(start - dt.timedelta(days=1)), "t": _iso(end + dt.timedelta(days=1))}, t.headers)
    assert [a["id"] for a in sched["data"]["mySchedule"]] == [appt["id"]]
    cancelled = await _gql(client, "mutation($id: ID!) { updateAppointment(id: $id, input: {action: CANCEL}) { status } }", {"id": appt["id"]}, t.headers)
    assert cancelled["data"]["updateAppointment"]["status"] == "CANCELLED"
    bad = await _gql(client, "mutation($c: ID!) { createTask(customerId: $c, input: {title: \"\", dueAt: \"2030-01-01T00:00:00Z\"}) { id } }", {"c": cid}, t.headers)
    assert bad["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_graphql_my_tasks_is_forbidden_for_marketing(client) -> None:
    marketing = await make_staff(role="marketing")
    result = await _gql(client, "{ myTasks { edges { node { id } } } }", {}, await login(client, marketing["email"]))
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"

