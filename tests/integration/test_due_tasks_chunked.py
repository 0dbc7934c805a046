"""Automatic tasks written in chunks, on both databases: each chunk commits with its own
audit entry naming its customers, a run interrupted between chunks is completed by the next
without duplicates, and rows another writer created meanwhile are neither counted nor
audited by this run."""

from __future__ import annotations

import asyncio
import datetime as dt
from uuid import UUID, uuid4

import pytest

from clienteling.events import InProcessBus
from clienteling.policy_store import PolicyStore
from clienteling.services.audit import AuditTrail
from clienteling.services.due_tasks import generate_due_tasks
from clienteling.tables import AuditEntry, Customer, Task
from domain.events import Event
from tests.factories import make_customer, make_staff, make_store

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
LAST_PURCHASE = NOW - dt.timedelta(days=365)


async def _lapsed_customers(count: int) -> tuple[UUID, list[UUID]]:
    """A store with one seller and ``count`` of their clients who last bought a year ago."""
    store = await make_store(code="MAD")
    seller = await make_staff(role="associate", stores=[store])
    ids = []
    for _ in range(count):
        cid = await make_customer(store=store, primary=seller["id"], consents=())
        await Customer.update({Customer.last_purchase_at: LAST_PURCHASE}).where(Customer.id == cid).run()
        ids.append(cid)
    return store, ids


def _ref(customer: UUID) -> str:
    return f"lapsed:{customer}:{LAST_PURCHASE:%Y-%m}"


async def _task_write_entries() -> list[dict]:
    return await AuditEntry.select().where(AuditEntry.action == "task_write").order_by(AuditEntry.seq).output(load_json=True).run()


async def _refs() -> list[str]:
    return [r["source_ref"] for r in await Task.select(Task.source_ref).run()]


class _AuditFailingAt(AuditTrail):
    """An audit trail whose ``fail_at``-th append raises, as a crash inside that chunk would."""

    def __init__(self, fail_at: int) -> None:
        super().__init__(PolicyStore())
        self.calls = 0
        self.fail_at = fail_at

    async def record(self, *args, **kwargs) -> int:  # noqa: ANN002, ANN003
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("crash while writing a chunk")
        return await super().record(*args, **kwargs)


async def test_a_run_writes_its_tasks_in_audited_chunks_of_the_given_size(clean_db) -> None:  # noqa: ANN001
    _, customers = await _lapsed_customers(8)
    report = await generate_due_tasks(NOW, chunk_size=3)
    assert (report.birthday, report.lapsed, report.skipped) == (0, 8, False)
    refs = await _refs()
    assert sorted(refs) == sorted(_ref(c) for c in customers)
    entries = await _task_write_entries()
    assert [len(e["customer_ids"]) for e in entries] == [3, 3, 2]
    named = [cid for e in entries for cid in e["customer_ids"]]
    assert sorted(named) == sorted(str(c) for c in customers)  # each customer in one entry
    assert all(e["actor_id"] is None and e["operation"] == "generate_due_tasks" for e in entries)


async def test_running_the_chunked_job_again_creates_and_records_nothing(clean_db) -> None:  # noqa: ANN001
    await _lapsed_customers(7)
    assert (await generate_due_tasks(NOW, chunk_size=3)).lapsed == 7
    again = await generate_due_tasks(NOW, chunk_size=3)
    assert (again.birthday, again.lapsed, again.skipped) == (0, 0, False)
    assert await Task.count().run() == 7
    assert len(await _task_write_entries()) == 3


async def test_a_run_that_fails_in_a_chunk_keeps_the_committed_ones_and_the_next_run_finishes(clean_db) -> None:  # noqa: ANN001
    _, customers = await _lapsed_customers(8)
    with pytest.raises(RuntimeError):
        await generate_due_tasks(NOW, chunk_size=3, audit=_AuditFailingAt(2))
    # the first chunk committed with its entry; the second rolled back with its failed entry
    assert len(await _refs()) == 3
    assert [len(e["customer_ids"]) for e in await _task_write_entries()] == [3]
    report = await generate_due_tasks(NOW, chunk_size=3)
    assert report.lapsed == 5
    refs = await _refs()
    assert sorted(refs) == sorted(_ref(c) for c in customers)
    named = [cid for e in await _task_write_entries() for cid in e["customer_ids"]]
    assert sorted(named) == sorted(str(c) for c in customers)


class _RacingBus(InProcessBus):
    """After the first chunk is announced, another writer creates a task that this run
    planned for a later chunk (as a process racing it would)."""

    def __init__(self, steal: list[dict]) -> None:
        super().__init__()
        self.steal = steal
        self.announced: list[UUID] = []

    async def publish(self, channels: list[str], event: Event) -> None:
        self.announced.append(event.customer_id)
        if self.steal:
            await Task.insert(*[Task(**row) for row in self.steal]).run()
            self.steal = []
        await super().publish(channels, event)


async def test_tasks_another_writer_created_meanwhile_are_neither_counted_nor_audited(clean_db) -> None:  # noqa: ANN001
    store, customers = await _lapsed_customers(6)
    seller = (await Customer.select(Customer.primary_associate).where(Customer.id == customers[0]).first().run())["primary_associate"]
    last_chunk = sorted(customers, key=lambda c: _ref(c))[-1]
    stolen = {
        "id": uuid4(), "customer": last_chunk, "store": store, "assignee": seller, "kind": "lapsed",
        "title": "created elsewhere", "due_at": NOW, "source_ref": _ref(last_chunk),
    }
    bus = _RacingBus([stolen])
    report = await generate_due_tasks(NOW, chunk_size=3, events=bus)
    assert report.lapsed == 5
    assert sorted(await _refs()) == sorted(_ref(c) for c in customers)
    named = {cid for e in await _task_write_entries() for cid in e["customer_ids"]}
    assert str(last_chunk) not in named and len(named) == 5
    assert last_chunk not in bus.announced and len(bus.announced) == 5


async def test_concurrent_chunked_runs_create_each_task_once(clean_db) -> None:  # noqa: ANN001
    _, customers = await _lapsed_customers(8)
    reports = await asyncio.gather(*(generate_due_tasks(NOW, chunk_size=3) for _ in range(3)))
    assert sum(r.lapsed for r in reports) == 8
    refs = await _refs()
    assert len(refs) == len(set(refs)) == 8
    named = [cid for e in await _task_write_entries() for cid in e["customer_ids"]]
    assert sorted(named) == sorted(str(c) for c in customers)


async def test_chunk_size_must_be_positive(clean_db) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        await generate_due_tasks(NOW, chunk_size=0)
