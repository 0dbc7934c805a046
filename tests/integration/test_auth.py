"""Staff authentication over REST, on SQLite and PostgreSQL."""

from __future__ import annotations

from argon2 import PasswordHasher

from clienteling.tables import Staff
from clienteling.tokens import TokenSigner
from tests.factories import PASSWORD, make_staff, make_store
from tests.integration.conftest import login


async def test_login_returns_tokens_and_staff_with_stores(client) -> None:
    store = await make_store()
    staff = await make_staff(role="associate", stores=[store])
    r = await client.post("/api/v1/auth/login", json={"email": staff["email"], "password": PASSWORD, "deviceId": "tablet-1"})
    assert r.status_code == 200
    body = r.json()
    assert body["accessToken"] and body["refreshToken"] and body["expiresIn"] == 900
    assert body["staff"] == {"id": str(staff["id"]), "email": staff["email"], "displayName": staff["email"].split("@")[0], "role": "associate", "storeIds": [str(store)]}


async def test_login_email_is_case_insensitive(client) -> None:
    staff = await make_staff(role="hq_admin")
    r = await client.post("/api/v1/auth/login", json={"email": staff["email"].upper(), "password": PASSWORD})
    assert r.status_code == 200


async def test_wrong_password_and_unknown_email_answer_the_same_401(client) -> None:
    staff = await make_staff(role="associate")
    wrong = await client.post("/api/v1/auth/login", json={"email": staff["email"], "password": "nope"})
    unknown = await client.post("/api/v1/auth/login", json={"email": "nobody@example.test", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    strip = lambda b: {k: v for k, v in b.items() if k != "requestId"}  # noqa: E731
    assert strip(wrong.json()) == strip(unknown.json())
    assert wrong.json()["code"] == "INVALID_CREDENTIALS"


async def test_disabled_account_cannot_sign_in(client) -> None:
    staff = await make_staff(role="associate", active=False)
    r = await client.post("/api/v1/auth/login", json={"email": staff["email"], "password": PASSWORD})
    assert r.status_code == 401


async def test_repeated_failures_are_throttled_even_with_the_right_password(client) -> None:
    staff = await make_staff(role="associate")
    codes = [
        (await client.post("/api/v1/auth/login", json={"email": staff["email"], "password": f"bad-{i}"})).status_code
        for i in range(5)
    ]
    assert codes == [401] * 5
    r = await client.post("/api/v1/auth/login", json={"email": staff["email"], "password": PASSWORD})
    assert r.status_code == 429
    assert r.json()["code"] == "TOO_MANY_REQUESTS"
    assert int(r.headers["retry-after"]) > 0


async def test_throttling_one_account_does_not_lock_another(client) -> None:
    victim = await make_staff(role="associate")
    other = await make_staff(role="associate")
    for i in range(6):
        await client.post("/api/v1/auth/login", json={"email": victim["email"], "password": f"bad-{i}"})
    r = await client.post("/api/v1/auth/login", json={"email": other["email"], "password": PASSWORD})
    assert r.status_code == 200


async def test_bearer_token_reaches_protected_routes_and_missing_token_is_401(client) -> None:
    staff = await make_staff(role="hq_admin")
    headers = await login(client, staff["email"])
    assert (await client.get("/api/v1/me", headers=headers)).json()["role"] == "hq_admin"
    r = await client.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["code"] == "NOT_AUTHENTICATED"


async def test_forged_and_expired_tokens_are_refused(client, settings) -> None:
    staff = await make_staff(role="hq_admin")
    headers = await login(client, staff["email"])
    token = headers["Authorization"][7:]
    head, payload, sig = token.split(".")
    forged = f"{head}.{payload}.{'A' * len(sig)}"
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["code"] == "TOKEN_INVALID"
    other_key = TokenSigner("another-secret-" + "y" * 32, 900)
    claims = TokenSigner(settings.secret_key, 900).verify(token)
    foreign = other_key.issue(staff_id=claims.sub, session_id=claims.sid, role="hq_admin", store_ids=[], device_id=None)
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {foreign}"})).status_code == 401
    expired = TokenSigner(settings.secret_key, 900).issue(staff_id=claims.sub, session_id=claims.sid, role="hq_admin", store_ids=[], device_id=None, now=1_000_000)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_refresh_rotates_and_reuse_revokes_the_whole_session(client) -> None:
    staff = await make_staff(role="associate")
    first = (await client.post("/api/v1/auth/login", json={"email": staff["email"], "password": PASSWORD})).json()
    second = await client.post("/api/v1/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert second.status_code == 200
    assert second.json()["refreshToken"] != first["refreshToken"]
    new_access = {"Authorization": f"Bearer {second.json()['accessToken']}"}
    assert (await client.get("/api/v1/me", headers=new_access)).status_code == 200
    # The spent token is presented again: someone copied it. The family dies.
    reuse = await client.post("/api/v1/auth/refresh", json={"refreshToken": first["refreshToken"]})
    assert reuse.status_code == 401
    assert (await client.get("/api/v1/me", headers=new_access)).status_code == 401
    again = await client.post("/api/v1/auth/refresh", json={"refreshToken": second.json()["refreshToken"]})
    assert again.status_code == 401


async def test_logout_revokes_access_and_refresh(client) -> None:
    staff = await make_staff(role="associate")
    body = (await client.post("/api/v1/auth/login", json={"email": staff["email"], "password": PASSWORD})).json()
    headers = {"Authorization": f"Bearer {body['accessToken']}"}
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (await client.post("/api/v1/auth/refresh", json={"refreshToken": body["refreshToken"]})).status_code == 401


async def test_disabling_an_account_ends_its_sessions(client) -> None:
    staff = await make_staff(role="associate")
    headers = await login(client, staff["email"])
    await Staff.update({Staff.active: False}).where(Staff.id == staff["id"]).run()
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_password_hash_is_upgraded_when_parameters_change(client) -> None:
    old_hash = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    staff = await make_staff(role="associate", password_hash=old_hash)
    await login(client, staff["email"])
    stored = (await Staff.select(Staff.password_hash).where(Staff.id == staff["id"]).first().run())["password_hash"]
    assert stored != old_hash
    assert stored.startswith("$argon2id$") and ",t=1," in stored
    # and the upgraded hash still verifies
    await login(client, staff["email"])


async def test_login_body_with_unknown_field_or_wrong_type_is_400(client) -> None:
    r = await client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x", "admin": True})
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED"
    r = await client.post("/api/v1/auth/login", json={"email": 5, "password": "x"})
    assert r.status_code == 400
    r = await client.post("/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
