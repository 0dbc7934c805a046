"""A full seller journey against the real service leaves no personal data in its logs, and
every log line is JSON carrying the request id."""

from __future__ import annotations

import json
import re
import time

import pytest

pytestmark = pytest.mark.e2e


def test_seller_journey_logs_no_personal_data(service) -> None:
    seller = service.login("associate.madrid@example.com")
    with service.client() as c:
        me = c.get("/api/v1/me", headers=seller).json()
        mine = [i for i in c.get("/api/v1/customers", params={"limit": 200}, headers=seller).json()["items"] if i["primaryAssociateId"] == me["id"] and i["email"] and i["phone"]]
        customer = mine[0]
        secrets = [customer["firstName"], customer["lastName"], customer["email"], re.sub(r"\D", "", customer["phone"])[-9:]]
        time.sleep(0.5)  # access lines are written just after their responses: let them land
        before = len(service.output().splitlines())
        c.get("/api/v1/customers", params={"q": customer["lastName"]}, headers=seller)
        c.get("/api/v1/customers", params={"q": customer["email"]}, headers=seller)
        c.get("/api/v1/customers", params={"q": customer["phone"], "limit": "oops"}, headers=seller)  # a 400 too
        c.get(f"/api/v1/customers/{customer['id']}", headers=seller)
        c.patch(f"/api/v1/customers/{customer['id']}", json={"email": "not an email"}, headers=seller)
        c.post(f"/api/v1/customers/{customer['id']}/notes", json={"body": f"{customer['firstName']} wants a call"}, headers=seller)
        c.post("/graphql", json={"query": "query($q: String) { customers(search: $q) { edges { node { email phone } } } }", "variables": {"q": customer["email"]}}, headers=seller)
        c.post("/api/v1/auth/login", json={"email": customer["email"], "password": "guess"})
    time.sleep(0.5)
    log = "\n".join(service.output().splitlines()[before:])
    assert log.strip(), "the journey wrote no log lines at all"
    for secret in secrets:
        assert secret.lower() not in log.lower(), "a personal value reached the logs"
    lines = [line for line in log.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "clienteling.access"]
    assert len(access) >= 8 and all(r["requestId"] and r["route"] for r in access)
