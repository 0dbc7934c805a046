"""Offline-first tablets end to end: the stock RxDB client (``replicateGraphQL``, memory
storage, Node 20) against ``clienteling serve --demo`` on SQLite and on PostgreSQL.

Two Madrid associates' tablets sync, go offline, edit the same customer, reconnect and
converge without losing an acknowledged write; a same-field conflict resolves to the server
version; offline notes reach the server; the stream wakes live tablets; deletes, erasure and
a store move reach tablets as tombstones; the Bucharest tablet never sees a Madrid customer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import DEMO_PASSWORD, Service
from tests.e2e.rxdb_tablet import Tablet

pytestmark = pytest.mark.e2e


def _login(service: Service, email: str, device: str | None = None) -> dict:
    body = {"email": email, "password": DEMO_PASSWORD}
    if device:
        body["deviceId"] = device
    with service.client() as c:
        r = c.post("/api/v1/auth/login", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _register(service: Service, hq: dict, device: str, store: str) -> None:
    with service.client() as c:
        r = c.post("/api/v1/devices", json={"id": device, "storeId": store, "label": device}, headers={"Authorization": f"Bearer {hq['accessToken']}"})
    assert r.status_code == 201, r.text


@pytest.fixture
def tablets(service: Service) -> Iterator[dict]:
    hq = _login(service, "hq@example.com")
    madrid = _login(service, "associate.madrid@example.com")["staff"]["storeIds"][0]
    bucharest = _login(service, "associate.bucharest@example.com")["staff"]["storeIds"][0]
    barcelona = _login(service, "associate.barcelona@example.com")["staff"]["storeIds"][0]
    suffix = uuid.uuid4().hex[:6]
    made: list[Tablet] = []

    def tablet(email: str, store: str, name: str) -> Tablet:
        device = f"{name}-{suffix}"
        _register(service, hq, device, store)
        token = _login(service, email, device)["accessToken"]
        t = Tablet(service.base_url, token, device)
        made.append(t)
        return t

    try:
        yield {
            "a": tablet("associate.madrid@example.com", madrid, "tab-a"),
            "b": tablet("associate2.madrid@example.com", madrid, "tab-b"),
            "buc": tablet("associate.bucharest@example.com", bucharest, "tab-buc"),
            "madrid": madrid, "bucharest": bucharest, "barcelona": barcelona, "hq": hq,
        }
    finally:
        for t in made:
            t.close()


def _outside_books(docs: dict, *staff_ids: str) -> list[dict]:
    return [d for d in docs.values() if d["primaryAssociateId"] not in staff_ids and d["secondaryAssociateId"] not in staff_ids]


def test_two_madrid_tablets_edit_offline_reconnect_and_converge(service: Service, tablets: dict) -> None:
    a, b, buc = tablets["a"], tablets["b"], tablets["buc"]
    for t in (a, b, buc):
        t.sync()
    a_docs, b_docs, buc_docs = a.docs("customer"), b.docs("customer"), buc.docs("customer")
    assert len(a_docs) > 500 and set(a_docs) == set(b_docs)
    assert {d["homeStoreId"] for d in a_docs.values()} == {tablets["madrid"]}
    assert buc_docs and {d["homeStoreId"] for d in buc_docs.values()} == {tablets["bucharest"]}
    assert not set(buc_docs) & set(a_docs)  # the Bucharest tablet never receives a Madrid customer

    staff_a = _login(service, "associate.madrid@example.com")["staff"]["id"]
    staff_b = _login(service, "associate2.madrid@example.com")["staff"]["id"]
    x, y, z = (d["id"] for d in _outside_books(a_docs, staff_a, staff_b)[:3])

    # Different fields edited offline on both tablets: both survive.
    a.call("offline")
    b.call("offline")
    a.call("patch", collection="customer", id=x, patch={"firstName": "Offline-A"})
    b.call("patch", collection="customer", id=x, patch={"lastName": "Offline-B"})
    note_id = str(uuid.uuid4())
    a.call("insert", collection="note", doc={"id": note_id, "customerId": x, "body": "Asked for the linen shirt in M", "pinned": False, "visibility": "shared", "updatedAt": 0})
    a.call("online")
    b.call("online")
    a.sync()
    server = _customer(service, tablets["hq"], x)
    assert (server["firstName"], server["lastName"]) == ("Offline-A", "Offline-B")
    for t in (a, b):
        doc = t.wait_for("customer", x, lambda d: d and d["firstName"] == "Offline-A" and d["lastName"] == "Offline-B")
        assert doc["homeStoreId"] == tablets["madrid"]
    notes = _notes(service, tablets["hq"], x)
    assert [n["body"] for n in notes if n["id"] == note_id] == ["Asked for the linen shirt in M"]
    b.wait_for("note", note_id, lambda d: d is not None and d["body"] == "Asked for the linen shirt in M")  # via the stream

    # Same field edited offline on both: the first to reconnect wins, the other gets the
    # server version back as a conflict and converges to it.
    a.call("offline")
    b.call("offline")
    a.call("patch", collection="customer", id=y, patch={"firstName": "Winner-A"})
    b.call("patch", collection="customer", id=y, patch={"firstName": "Loser-B"})
    a.call("online")
    b.call("online")
    for t in (a, b):
        t.wait_for("customer", y, lambda d: d and d["firstName"] == "Winner-A")
    assert _customer(service, tablets["hq"], y)["firstName"] == "Winner-A"

    # A delete on one tablet reaches the other as a tombstone (live, through the stream).
    a.call("remove", collection="note", id=note_id)
    b.wait_for("note", note_id, lambda d: d is None)
    assert note_id not in {n["id"] for n in _notes(service, tablets["hq"], x)}

    # Erasure: the customer disappears from every tablet, and what the tablet keeps until
    # cleanup is a tombstone with personal fields blanked.
    compliance = _login(service, "compliance@example.com")
    with service.client() as c:
        r = c.post(f"/api/v1/customers/{z}/erasure", json={"requestReference": f"DSR-{uuid.uuid4().hex[:6]}"}, headers={"Authorization": f"Bearer {compliance['accessToken']}"})
    assert r.status_code == 200, r.text
    for t in (a, b):
        t.wait_for("customer", z, lambda d: d is None)
    kept = a.call("rawDeleted", collection="customer", id=z)
    assert kept is not None and kept["_deleted"] is True
    assert all(kept.get(k) is None for k in ("firstName", "lastName", "email", "phone", "birthdate"))

    # A store move takes the customer off the Madrid tablets.
    with service.client() as c:
        r = c.patch(f"/api/v1/customers/{x}", json={"homeStoreId": tablets["barcelona"]}, headers={"Authorization": f"Bearer {tablets['hq']['accessToken']}"})
    assert r.status_code == 200, r.text
    for t in (a, b):
        t.wait_for("customer", x, lambda d: d is None)
    assert x not in buc.docs("customer")
    assert not set(buc.docs("customer")) & set(a.docs("customer"))
    assert a.call("errors") == [] and b.call("errors") == []


def _customer(service: Service, who: dict, customer_id: str) -> dict:
    with service.client() as c:
        r = c.get(f"/api/v1/customers/{customer_id}", headers={"Authorization": f"Bearer {who['accessToken']}"})
    assert r.status_code == 200, r.text
    return r.json()


def _notes(service: Service, who: dict, customer_id: str) -> list[dict]:
    with service.client() as c:
        r = c.get(f"/api/v1/customers/{customer_id}/notes", params={"limit": 200}, headers={"Authorization": f"Bearer {who['accessToken']}"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_a_stream_without_a_registered_device_closes_the_socket_instead_of_sending_null(service: Service) -> None:
    """A `next {data: null}` crashes the stock RxDB client: refusal closes with 4403."""
    from websockets.exceptions import ConnectionClosed

    from tests.e2e.wsclient import GraphQLWS

    token = _login(service, "associate.madrid@example.com")["accessToken"]
    ws = await GraphQLWS.open(service.base_url, token)
    assert (await ws.receive())["type"] == "connection_ack"
    await ws.subscribe("subscription S($headers: CustomerInputHeaders) { streamCustomer(headers: $headers) { documents { id } checkpoint { id updatedAt } } }", {"headers": {"Authorization": f"Bearer {token}"}})
    with pytest.raises(ConnectionClosed) as closed:
        await ws.receive(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert closed.value.rcvd.reason == "SYNC_DEVICE_REQUIRED"
