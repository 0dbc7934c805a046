"""A seller's day against the real service with the demo data, through GraphQL over HTTP:
book an appointment for a client of her book, then follow up and complete a task."""

from __future__ import annotations

import datetime as dt
import random

import pytest

pytestmark = pytest.mark.e2e

BOOK = """
mutation Book($customer: ID!, $starts: DateTime!, $ends: DateTime!) {
  bookAppointment(customerId: $customer, input: {startsAt: $starts, endsAt: $ends, channel: IN_STORE, notes: "Autumn collection preview"}) {
    id status channel associateId startsAt
  }
}
"""


def _gql(client, headers: dict, query: str, variables: dict | None = None) -> dict:  # noqa: ANN001
    r = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_associate_books_an_appointment_and_completes_a_task_over_graphql(service) -> None:
    seller = service.login("associate.madrid@example.com")
    with service.client() as c:
        me = _gql(c, seller, "{ me { id } }")["data"]["me"]["id"]
        nodes = [e["node"] for e in _gql(c, seller, "{ customers(first: 200) { edges { node { id primaryAssociateId } } } }")["data"]["customers"]["edges"]]
        client_of_hers = next(n["id"] for n in nodes if n["primaryAssociateId"] == me)

        # A slot well ahead; another run may hold it, so try a few.
        rng = random.Random()
        for _ in range(5):
            day = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=rng.randint(20, 300), hours=rng.randint(0, 23))
            result = _gql(c, seller, BOOK, {"customer": client_of_hers, "starts": day.isoformat(), "ends": (day + dt.timedelta(minutes=45)).isoformat()})
            if not result.get("errors"):
                break
            assert result["errors"][0]["extensions"]["code"] == "APPOINTMENT_OVERLAP", result
        appointment = result["data"]["bookAppointment"]
        assert appointment["status"] == "BOOKED" and appointment["channel"] == "IN_STORE" and appointment["associateId"] == me

        schedule = _gql(c, seller, "query($f: DateTime!, $t: DateTime!) { mySchedule(from: $f, to: $t) { id } }",
                        {"f": (day - dt.timedelta(days=1)).isoformat(), "t": (day + dt.timedelta(days=1)).isoformat()})
        assert appointment["id"] in [a["id"] for a in schedule["data"]["mySchedule"]]

        # the same booking again overlaps
        clash = _gql(c, seller, BOOK, {"customer": client_of_hers, "starts": day.isoformat(), "ends": (day + dt.timedelta(minutes=45)).isoformat()})
        assert clash["errors"][0]["extensions"]["code"] == "APPOINTMENT_OVERLAP"

        due = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).isoformat()
        task = _gql(c, seller, "mutation($c: ID!, $d: DateTime!) { createTask(customerId: $c, input: {title: \"Confirm the preview by phone\", dueAt: $d}) { id status assigneeId } }",
                    {"c": client_of_hers, "d": due})["data"]["createTask"]
        assert task["status"] == "OPEN" and task["assigneeId"] == me
        open_ids = [e["node"]["id"] for e in _gql(c, seller, "{ myTasks(status: OPEN, first: 200) { edges { node { id } } } }")["data"]["myTasks"]["edges"]]
        assert task["id"] in open_ids

        done = _gql(c, seller, "mutation($id: ID!) { updateTask(id: $id, input: {action: COMPLETE}) { status completedById completedAt } }", {"id": task["id"]})
        assert done["data"]["updateTask"]["status"] == "DONE" and done["data"]["updateTask"]["completedById"] == me
        done_ids = [e["node"]["id"] for e in _gql(c, seller, "{ myTasks(status: DONE, first: 200) { edges { node { id } } } }")["data"]["myTasks"]["edges"]]
        assert task["id"] in done_ids

        # the same records over REST, as the tablet's other screens read them
        items = c.get(f"/api/v1/customers/{client_of_hers}/appointments", headers=seller).json()["items"]
        assert appointment["id"] in [a["id"] for a in items]
