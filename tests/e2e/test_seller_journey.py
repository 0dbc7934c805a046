"""A seller's first session against the real service: the README's first command, then
sign in, search, open, edit, and a second client seeing the change."""

from __future__ import annotations


import pytest

pytestmark = pytest.mark.e2e


def test_serve_demo_prints_urls_and_demo_logins(service) -> None:
    out = service.output()
    assert f"{service.base_url}/graphql" in out
    assert f"{service.base_url}/schema" in out
    for email in ("associate.madrid@example.com", "manager.madrid@example.com", "hq@example.com", "compliance@example.com", "marketing@example.com"):
        assert email in out
    assert "clienteling-demo" in out


def test_health_ready_and_openapi(service) -> None:
    with service.client() as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert c.get("/ready").json()["status"] == "ok"
        spec = c.get("/schema/openapi.json").json()
        assert "/api/v1/customers" in spec["paths"] and "/api/v1/auth/login" in spec["paths"]
        page = c.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_associate_searches_opens_and_edits_and_manager_sees_it(service) -> None:
    seller = service.login("associate.madrid@example.com")
    manager = service.login("manager.madrid@example.com")
    with service.client() as c:
        me = c.get("/api/v1/me", headers=seller).json()
        page = c.get("/api/v1/customers", params={"limit": 20}, headers=seller).json()
        assert len(page["items"]) == 20 and page["nextCursor"]
        assert all(item["homeStoreId"] in me["storeIds"] for item in page["items"])
        # search by the folded last name of someone on the page, typed without accents
        target = next(i for i in page["items"] if i["sizes"] is not None)
        from domain.text import fold

        found = c.get("/api/v1/customers", params={"q": fold(target["lastName"]).upper()}, headers=seller).json()["items"]
        assert target["id"] in [f["id"] for f in found]
        opened = c.get(f"/api/v1/customers/{target['id']}", headers=seller)
        assert opened.status_code == 200
        prefs = dict(opened.json()["preferences"] or {})
        prefs["colors"] = ["teal", "sand"]
        edited = c.patch(f"/api/v1/customers/{target['id']}", json={"preferences": prefs}, headers=seller | {"If-Match": opened.headers["etag"]})
        assert edited.status_code == 200, edited.text
        seen = c.get(f"/api/v1/customers/{target['id']}", headers=manager).json()
        assert seen["preferences"]["colors"] == ["teal", "sand"]
        assert seen["version"] == opened.json()["version"] + 1


def test_graphql_over_http_with_the_demo_login(service) -> None:
    seller = service.login("associate.madrid@example.com")
    with service.client() as c:
        r = c.post("/graphql", json={"query": "{ me { role stores { code } } customers(first: 3) { edges { node { id firstName email homeStore { code } } } pageInfo { hasNextPage } } }"}, headers=seller)
        data = r.json()["data"]
        assert data["me"] == {"role": "associate", "stores": [{"code": "MAD"}]}
        nodes = [e["node"] for e in data["customers"]["edges"]]
        assert len(nodes) == 3 and {n["homeStore"]["code"] for n in nodes} == {"MAD"}
        assert data["customers"]["pageInfo"]["hasNextPage"] is True


def test_bucharest_associate_cannot_open_a_madrid_customer(service) -> None:
    madrid = service.login("associate.madrid@example.com")
    bucharest = service.login("associate.bucharest@example.com")
    with service.client() as c:
        cid = c.get("/api/v1/customers", params={"limit": 1}, headers=madrid).json()["items"][0]["id"]
        r = c.get(f"/api/v1/customers/{cid}", headers=bucharest)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_large_responses_are_gzip_compressed(service) -> None:
    seller = service.login("associate.madrid@example.com")
    with service.client() as c:
        r = c.get("/api/v1/customers", params={"limit": 200}, headers=seller | {"Accept-Encoding": "gzip"})
        assert r.headers.get("content-encoding") == "gzip"
        assert len(r.json()["items"]) == 200
