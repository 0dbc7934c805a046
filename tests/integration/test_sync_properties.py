"""Property: whatever the interleaving of offline edits and reconnections on several tablets,
every acknowledged write survives on the server unless a later acknowledged write replaced
it, every other write comes back as a conflict, and once everyone has synced all tablets
hold exactly the server's document. Each tablet follows RxDB's protocol: it pushes
``(assumedMasterState, newDocumentState)``, takes the server's version on conflict (RxDB's
default conflict handler) and pulls from its checkpoint."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import login
from tests.integration.test_sync import pull_all, push

FIELDS = ("firstName", "lastName", "language", "tags")
VALUES = {
    "firstName": ("Ana", "Núria", "Ioana", "Zoe"),
    "lastName": ("Pérez", "Vila", "Popa", "Smith"),
    "language": ("es", "ca", "ro", "en"),
    "tags": ('["vip-event"]', '["denim"]', "[]", '["linen","navy"]'),
}

edit = st.sampled_from(FIELDS).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(VALUES[f])))
step = st.tuples(st.integers(0, 2), st.one_of(st.just("sync"), edit))


class Device:
    def __init__(self, client, headers: dict[str, str], customer_id: str) -> None:  # noqa: ANN001
        self.client, self.headers, self.customer_id = client, headers, customer_id
        self.master: dict[str, Any] | None = None
        self.local: dict[str, Any] | None = None
        self.checkpoint: dict | None = None

    async def pull(self) -> None:
        docs, self.checkpoint = await pull_all(self.client, self.headers, "Customer", self.checkpoint)
        for doc in docs:
            if doc["id"] == self.customer_id:
                dirty = self.local != self.master
                self.master = doc
                if not dirty:
                    self.local = dict(doc)

    async def sync(self, acknowledged: dict[str, Any]) -> None:
        if self.local != self.master:
            result = await push(self.client, self.headers, "Customer", [{"assumedMasterState": self.master, "newDocumentState": self.local}])
            assert "errors" not in result, result
            conflicts = result["data"]["pushCustomer"]
            if conflicts:
                assert [c["id"] for c in conflicts] == [self.customer_id]
                self.master, self.local = conflicts[0], dict(conflicts[0])
            else:
                for field in FIELDS:
                    if self.local[field] != self.master[field]:
                        acknowledged[field] = self.local[field]
                self.master = dict(self.local)
        await self.pull()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step, min_size=1, max_size=14))
async def test_interleaved_offline_edits_converge_without_losing_acknowledged_writes(client, steps) -> None:  # noqa: ANN001
    store = await make_store(code=uuid4().hex[:6].upper())
    staff = [await make_staff(role=role, stores=[store]) for role in ("associate", "associate", "store_manager")]
    customer = str(await make_customer(store=store, first_name="Start", last_name="Point", email=None, phone=None))
    devices = []
    for member in staff:
        device = f"prop-{uuid4().hex[:10]}"
        manager = await login(client, staff[2]["email"])
        response = await client.post("/api/v1/devices", json={"id": device, "storeId": str(store)}, headers=manager)
        assert response.status_code == 201, response.text
        devices.append(Device(client, await login(client, member["email"], device_id=device), customer))
    for d in devices:
        await d.pull()
    initial = dict(devices[0].master)
    acknowledged: dict[str, Any] = {}

    for index, action in steps:
        d = devices[index]
        if action == "sync":
            await d.sync(acknowledged)
        else:
            field, value = action
            d.local[field] = value

    for _ in range(2):  # everyone reconnects (twice: the second round settles conflicts)
        for d in devices:
            await d.sync(acknowledged)
    server = devices[2].master
    for field in FIELDS:
        assert server[field] == acknowledged.get(field, initial[field]), (field, acknowledged, server)
    for d in devices:
        assert {f: d.local[f] for f in FIELDS} == {f: server[f] for f in FIELDS}
        assert d.local["updatedAt"] == server["updatedAt"]
