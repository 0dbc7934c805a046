"""The timeline's sources read together (PostgreSQL: one statement) give exactly the rows of
the per-table reads: same rows, order (newest first, ties by id), limit per customer, keys
and Python types."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from clienteling.repositories import timeline
from clienteling.tables import ConsentRecord, Note, Task
from tests.factories import make_customer, make_note, make_staff, make_store
from tests.factories_commerce import ago, make_appointment, make_check_in, make_purchase, make_return, make_task
from tests.integration.test_customer360 import counting_statements


def _newest(events: list[tuple[dt.datetime, UUID]], limit: int) -> list[UUID]:
    """Ids of the ``limit`` newest events, ties broken by the greater id first."""
    return [i for _, i in sorted(events, reverse=True)[:limit]]


async def _history() -> dict[str, Any]:
    """Two customers with events of every source, including ties on the instant, rows a
    source must leave out (other people's private notes, deleted notes and tasks, upcoming
    appointments, open tasks), and a third customer with nothing."""
    store = await make_store()
    reader = await make_staff(role="associate", stores=[store])
    other = await make_staff(role="associate", stores=[store])
    a = await make_customer(store=store, email="a@example.com", consents=())
    b = await make_customer(store=store, email="b@example.com", consents=())
    c = await make_customer(store=store, email="c@example.com", consents=())
    tie, older = ago(2), ago(6)
    expected: dict[str, dict[UUID, list[tuple[dt.datetime, UUID]]]] = {s: {a: [], b: [], c: []} for s in timeline.SOURCES}

    def seen(source: str, customer: UUID, at: dt.datetime, row_id: UUID) -> None:
        expected[source][customer].append((at, row_id))

    for customer, n in ((a, 5), (b, 2)):
        for i in range(n):
            at = tie if i < 3 else ago(10 + i)  # three purchases at the same instant
            seen("purchase", customer, at, await make_purchase(customer=customer, store=store, channel="online" if i % 2 else "store", occurred_at=at))
        for at in (tie, tie, older):
            seen("return", customer, at, await make_return(customer=customer, occurred_at=at, total="12.30"))
            seen("check_in", customer, at, await make_check_in(customer=customer, store=store, occurred_at=at))
            seen("consent", customer, at, await _consent(customer, at))
        for author, visibility, pinned, at in ((other, "shared", True, tie), (reader, "private", False, tie), (other, "shared", False, tie), (reader, "shared", False, older)):
            note = await make_note(customer=customer, author=author["id"], visibility=visibility, pinned=pinned)
            await Note.update({Note.created_at: at}).where(Note.id == note).run()
            seen("note", customer, at, note)
        hidden = await make_note(customer=customer, author=other["id"], visibility="private")  # someone else's private note
        deleted = await make_note(customer=customer, author=reader["id"])
        await Note.update({Note.deleted_at: ago(0)}).where(Note.id == deleted).run()
        for at, status in ((tie, "held"), (tie, "no_show"), (older, "cancelled")):
            seen("appointment", customer, at, await make_appointment(customer=customer, associate=reader["id"], store=store, starts_at=at, status=status, channel="video"))
        await make_appointment(customer=customer, associate=reader["id"], store=store, starts_at=ago(-2))  # upcoming
        for at in (tie, tie, older):
            seen("task", customer, at, await make_task(store=store, assignee=reader["id"], customer=customer, kind="follow_up", completed_at=at))
        await make_task(store=store, assignee=reader["id"], customer=customer)  # still open
        gone = await make_task(store=store, assignee=reader["id"], customer=customer, completed_at=tie)
        await Task.update({Task.deleted_at: ago(0)}).where(Task.id == gone).run()
        assert hidden and deleted
    return {"customers": [a, b, c], "reader": reader["id"], "expected": expected}


async def _consent(customer: UUID, at: dt.datetime) -> UUID:
    """A consent answer at ``at``, and its id."""
    consent_id = uuid4()
    await ConsentRecord.insert(ConsentRecord(id=consent_id, customer=customer, purpose="marketing_email", status="granted", occurred_at=at, channel="store_tablet")).run()
    return consent_id


async def _per_table(ids: list[UUID], limit: int, *, reader: UUID, until: dt.datetime) -> dict[str, timeline.Rows]:
    return {
        "purchase": await timeline.purchases(ids, limit),
        "return": await timeline.returns(ids, limit),
        "note": await timeline.notes(ids, limit, reader=reader),
        "check_in": await timeline.check_ins(ids, limit),
        "appointment": await timeline.appointments(ids, limit, until=until),
        "task": await timeline.completed_tasks(ids, limit),
        "consent": await timeline.consent_answers(ids, limit),
    }


def _typed(rows: timeline.Rows) -> dict[UUID, list[list[tuple[str, Any, type]]]]:
    """Rows with their keys in order and the Python type of every value, for comparison."""
    return {cid: [[(k, v, type(v)) for k, v in row.items()] for row in found] for cid, found in rows.items()}


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
async def test_the_sources_read_together_are_the_per_table_reads(clean_db, monkeypatch, limit: int) -> None:
    history = await _history()
    ids, reader, until = history["customers"], history["reader"], ago(0)
    with counting_statements(clean_db.engine, monkeypatch) as seen:
        together = await timeline.newest_events(ids, limit, sources=timeline.SOURCES, reader=reader, until=until)
    if clean_db.kind == "postgresql":
        assert len(seen) == 1, [q[:80] for q in seen]
    separately = await _per_table(ids, limit, reader=reader, until=until)
    assert list(together) == list(timeline.SOURCES)
    for source in timeline.SOURCES:
        assert list(together[source]) == ids, source  # every customer present, in the order asked
        assert _typed(together[source]) == _typed(separately[source]), source
        # and both are what the history says: newest first, ties by id, at most `limit` each
        for cid in ids:
            assert [r["id"] for r in together[source][cid]] == _newest(history["expected"][source][cid], limit), (source, limit)
    purchase = together["purchase"][ids[0]][0]
    assert list(purchase) == ["id", "customer", "occurred_at", "channel", "currency", "total"]
    assert purchase["occurred_at"].utcoffset() == dt.timedelta(0) and purchase["total"] == Decimal("149.90")


async def test_only_the_sources_asked_for_are_read(clean_db, monkeypatch) -> None:
    history = await _history()
    ids, reader = history["customers"], history["reader"]
    found = await timeline.newest_events(ids, 2, sources=("consent", "purchase"), reader=reader, until=ago(0))
    assert list(found) == ["purchase", "consent"]
    assert found["consent"] == await timeline.consent_answers(ids, 2)
    assert await timeline.newest_events(ids, 2, sources=(), reader=reader, until=ago(0)) == {}
    with pytest.raises(ValueError):
        await timeline.newest_events(ids, 2, sources=("body",), reader=reader, until=ago(0))
