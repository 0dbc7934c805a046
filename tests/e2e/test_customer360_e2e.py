"""A seller opens the 360 of one of her clients on the real service with demo data: one
GraphQL query over HTTP brings purchases, loyalty, consent and the timeline."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

BOOK = "{ myClients(first: 50) { edges { node { id firstName email primaryAssociateId } } } }"

CUSTOMER_360 = """
query Customer360($id: ID!) {
  customer(id: $id) {
    id firstName lastName email
    loyalty { tier points nextTier pointsToNextTier }
    purchases(first: 5) { edges { cursor node { occurredAt channel currency total lines { sku quantity unitPrice } } } pageInfo { hasNextPage endCursor } }
    consentSummary { purpose granted since }
    notes(first: 5) { body }
    timeline(first: 15) { kind occurredAt summary refId }
  }
}
"""


def test_associate_opens_the_360_of_a_client_of_her_book(service) -> None:
    headers = service.login("associate.madrid@example.com")
    with service.client() as c:
        me = c.get("/api/v1/me", headers=headers).json()
        book = c.post("/graphql", json={"query": BOOK}, headers=headers).json()
        assert "errors" not in book, book
        clients = [e["node"] for e in book["data"]["myClients"]["edges"]]
        assert clients and all(n["email"] is None or "•" not in n["email"] for n in clients)  # own book: contact in full
        rest = c.get("/api/v1/client-books/me", params={"limit": 50}, headers=headers).json()
        assert [i["id"] for i in rest["items"]] == [n["id"] for n in clients]
        opened = None
        for node in clients:
            result = c.post("/graphql", json={"query": CUSTOMER_360, "variables": {"id": node["id"]}}, headers=headers).json()
            assert "errors" not in result, result
            if result["data"]["customer"]["purchases"]["edges"] and result["data"]["customer"]["loyalty"]["points"]:
                opened = result["data"]["customer"]
                break
        assert opened is not None, "no client of the demo book has purchases and points"
    purchases = [e["node"] for e in opened["purchases"]["edges"]]
    assert [p["occurredAt"] for p in purchases] == sorted((p["occurredAt"] for p in purchases), reverse=True)
    assert all(p["currency"] in ("EUR", "RON") and p["total"] and p["lines"] for p in purchases)
    loyalty = opened["loyalty"]
    assert loyalty["tier"] in ("member", "silver", "gold", "platinum") and loyalty["points"] > 0
    assert loyalty["nextTier"] is None or loyalty["pointsToNextTier"] >= 0
    kinds = {e["kind"] for e in opened["timeline"]}
    assert "PURCHASE" in kinds
    assert [e["occurredAt"] for e in opened["timeline"]] == sorted((e["occurredAt"] for e in opened["timeline"]), reverse=True)
    assert len(opened["consentSummary"]) == 6
    assert me["role"] == "associate"
