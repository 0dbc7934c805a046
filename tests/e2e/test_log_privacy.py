"""A full seller journey against the real service leaves no personal data in its logs, and
every log line is JSON carrying the request id."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import pytest

pytestmark = pytest.mark.e2e

CUSTOMER_360 = """query Customer360($id: ID!) { customer(id: $id) { id firstName lastName email phone
  loyalty { tier points } consentSummary { purpose granted } notes(first: 5) { body }
  timeline(first: 10) { kind summary } } }"""


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
        # The rest of a seller's day with this customer: 360, notes, consent, and an export.
        answers = [
            c.post("/graphql", json={"query": CUSTOMER_360, "variables": {"id": customer["id"]}, "operationName": "Customer360"}, headers=seller),
            c.get(f"/api/v1/customers/{customer['id']}/notes", headers=seller),
            c.get(f"/api/v1/customers/{customer['id']}/consents", headers=seller),
            c.post(f"/api/v1/customers/{customer['id']}/consents", headers=seller, json={
                "purpose": "marketing_sms", "status": "withdrawn", "channel": "store_tablet",
                "occurredAt": dt.datetime.now(dt.timezone.utc).isoformat(), "evidence": f"said {customer['lastName']}"}),
        ]
        compliance = service.login("compliance@example.com")
        answers.append(c.get(f"/api/v1/customers/{customer['id']}/export", headers=compliance))
        assert [r.status_code for r in answers] == [200, 200, 200, 201, 200]
        assert answers[0].json()["data"]["customer"]["email"] == customer["email"]
        assert customer["email"] in answers[-1].text  # the export carried the personal data
    time.sleep(0.5)
    log = "\n".join(service.output().splitlines()[before:])
    assert log.strip(), "the journey wrote no log lines at all"
    for secret in secrets:
        assert secret.lower() not in log.lower(), "a personal value reached the logs"
    lines = [line for line in log.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["logger"] == "clienteling.access"]
    assert len(access) >= 14 and all(r["requestId"] and r["route"] for r in access)
    routes = {r["route"] for r in access}
    assert {"/api/v1/customers/{customer_id}/export", "/api/v1/customers/{customer_id}/consents", "/graphql"} <= routes, routes
