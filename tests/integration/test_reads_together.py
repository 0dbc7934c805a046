"""Reads the customer 360 makes together on PostgreSQL give exactly what the separate reads
give: a customer row with its consent ledger, a page of purchases with its lines."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

import pytest

from clienteling.repositories import customers as customer_repo
from clienteling.repositories import purchases as purchase_repo
from clienteling.services import customer_rows
from clienteling.tables import Customer
from tests.factories import grant, make_customer, make_store
from tests.factories_commerce import ago, make_purchase
from tests.integration.test_customer360 import counting_statements


def _typed(value: Any) -> Any:
    """``value`` with the Python type of every leaf, so that equal-looking values of
    different types (a str and a UUID, 59.9 and Decimal) do not compare equal."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (value, type(value))


async def _customers() -> list[UUID]:
    store = await make_store()
    with_ledger = await make_customer(store=store, email="l@example.com", consents=("personalization", "in_store_recognition"))
    await grant(customer=with_ledger, purpose="marketing_email", status="withdrawn", at=ago(3), expires_at=ago(-300))
    await grant(customer=with_ledger, purpose="marketing_email", at=ago(3))  # same instant
    without = await make_customer(store=store, email="n@example.com", consents=(), sizes={}, preferences={"colors": []})
    deleted = await make_customer(store=store, email="d@example.com")
    await Customer.update({Customer.deleted_at: ago(0)}).where(Customer.id == deleted).run()
    return [with_ledger, without, deleted, uuid4()]


async def test_rows_with_their_ledgers_are_the_separate_reads(clean_db) -> None:
    ids = await _customers()
    both = await customer_repo.get_many_with_ledgers(ids)
    if clean_db.kind == "sqlite":
        assert both is None  # two statements there: the callers read the ledger when needed
        return
    rows, ledgers = both
    separate = {r["id"]: r for r in await customer_repo.get_many(ids)}
    assert [r["id"] for r in rows] and {r["id"] for r in rows} == set(separate) == set(ids[:2])
    for row in rows:
        assert list(row) == list(separate[row["id"]]) and _typed(row) == _typed(separate[row["id"]])
    events = await customer_repo.consent_events(ids)
    key = lambda e: (e.occurred_at, e.purpose, e.status, e.expires_at or dt.datetime.min.replace(tzinfo=dt.timezone.utc))  # noqa: E731
    for cid in ids[:2]:
        assert sorted(ledgers[cid], key=key) == sorted(events.get(cid, []), key=key)
        assert [(type(e.occurred_at), e.occurred_at.utcoffset()) for e in ledgers[cid]] == [(dt.datetime, dt.timedelta(0))] * len(ledgers[cid])
    assert len(ledgers[ids[0]]) == 4 and ledgers[ids[1]] == []


async def test_a_query_reads_a_customer_and_their_ledger_once(clean_db, monkeypatch) -> None:
    ids = await _customers()
    with customer_rows.one_read():
        with counting_statements(clean_db.engine, monkeypatch) as seen:
            rows = await customer_rows.get_many(ids)
            ledgers = await customer_rows.consent_events([r["id"] for r in rows])
            again = await customer_rows.get(ids[0])
    assert len(seen) == (1 if clean_db.kind == "postgresql" else 2), [q[:80] for q in seen]
    assert again is rows[0] or again == next(r for r in rows if r["id"] == ids[0])
    assert len(ledgers[ids[0]]) == 4 and ledgers[ids[1]] == []
    separate = await customer_repo.consent_events(ids)
    for cid in ids[:2]:
        assert sorted(map(repr, ledgers.get(cid, []))) == sorted(map(repr, separate.get(cid, [])))


async def test_a_purchase_page_with_its_lines_is_the_separate_reads(clean_db) -> None:
    store = await make_store()
    a = await make_customer(store=store, email="a@example.com")
    b = await make_customer(store=store, email="b@example.com")
    tie = ago(2)
    for cid in (a, b):
        for i in range(5):
            lines = [] if i == 1 else [("TOP-001", "Linen shirt", 1, "59.90"), ("ACC-101", "Belt", 2, "45.00"), ("ACC-100", "Belt", 1, "9.50")]
            await make_purchase(customer=cid, store=store, occurred_at=tie if i < 3 else ago(5 + i), lines=lines)
    ids = [a, b, uuid4()]
    first = await purchase_repo.newest_for_customers(ids, limit=3)
    last = first[a][1]
    for limit, before in ((3, None), (1, None), (10, None), (3, (last["occurred_at"], last["id"]))):
        both = await purchase_repo.newest_with_lines(ids, limit=limit + 1, before=before, lines_of=[a], lines_limit=limit)
        if clean_db.kind == "sqlite":
            assert both is None
            return
        pages, lines = both
        separate = await purchase_repo.newest_for_customers(ids, limit=limit + 1, before=before)
        assert list(pages) == ids and _typed(dict(pages)) == _typed(dict(separate))
        # lines only of the page's rows (not the look-ahead one) of the customers asked for
        expected = await purchase_repo.lines_for([r["id"] for r in separate[a][:limit]])
        assert _typed(dict(lines)) == _typed(dict(expected))
        assert all(len(v) == 3 for v in lines.values()) and not set(lines) & {r["id"] for r in separate[b]}


async def test_a_prefetched_row_is_read_once_and_a_failed_prefetch_is_read_again(clean_db, monkeypatch) -> None:
    ids = await _customers()
    with customer_rows.one_read():
        with counting_statements(clean_db.engine, monkeypatch) as seen:
            customer_rows.prefetch(ids[0])
            customer_rows.prefetch(ids[0])  # already being read: no second statement
            row = await customer_rows.get(ids[0])
            assert await customer_rows.get(ids[0]) is row
            await customer_rows.consent_events([ids[0]])
    assert row["id"] == ids[0] and len(seen) == (1 if clean_db.kind == "postgresql" else 2), [q[:80] for q in seen]

    calls = []
    original = customer_repo.get_many_with_ledgers if clean_db.kind == "postgresql" else customer_repo.get_many

    async def failing_once(many):  # noqa: ANN001, ANN202
        calls.append(list(many))
        if len(calls) == 1:
            raise ConnectionError("connection lost")
        return await original(many)

    monkeypatch.setattr(customer_repo, "get_many_with_ledgers" if clean_db.kind == "postgresql" else "get_many", failing_once)
    with customer_rows.one_read():
        customer_rows.prefetch(ids[1])
        with pytest.raises(ConnectionError):
            await customer_rows.get(ids[1])  # waits for the prefetch, which fails
        row = await customer_rows.get(ids[1])  # read again
    assert row["id"] == ids[1] and len(calls) == 2
