"""The consent ledger over REST and GraphQL: capture, derivation under late-arriving records,
enforcement on the customer document, notices, the role matrix and the audit, on both DBs."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from typing import Any

import msgspec

from clienteling.tables import AuditEntry, ConsentNotice, ConsentRecord, Customer
from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import login

NOW = dt.datetime.now(dt.timezone.utc)
NOTICE_TEXT = "Acepto recibir comunicaciones comerciales por correo electrónico. Versión 2025-06."


def iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def ago(**delta: float) -> str:
    return iso(dt.datetime.now(dt.timezone.utc) - dt.timedelta(**delta))


async def make_notice(*, purpose: str = "marketing_email", version: str = "2025-06", language: str = "es", text: str = NOTICE_TEXT) -> uuid.UUID:
    notice_id = uuid.uuid4()
    await ConsentNotice.insert(
        ConsentNotice(id=notice_id, purpose=purpose, version=version, language=language, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())
    ).run()
    return notice_id


async def _shop() -> dict[str, Any]:
    """A Madrid store with an associate, a manager, a customer and notices; Bucharest with
    its own associate; the head-office roles."""
    madrid = await make_store(code="MAD")
    bucharest = await make_store(code="BUC", city="Bucharest", country="RO")
    return {
        "madrid": madrid,
        "bucharest": bucharest,
        "associate": await make_staff(role="associate", stores=[madrid]),
        "manager": await make_staff(role="store_manager", stores=[madrid]),
        "other": await make_staff(role="associate", stores=[bucharest]),
        "hq": await make_staff(role="hq_admin"),
        "compliance": await make_staff(role="compliance_officer"),
        "marketing": await make_staff(role="marketing"),
        "customer": await make_customer(store=madrid, consents=()),
        "email_notice": await make_notice(),
        "personalization_notice": await make_notice(purpose="personalization", text="Personalización: tallas y preferencias."),
    }


def capture(notice: uuid.UUID | None, *, purpose: str = "marketing_email", status: str = "granted", occurred_at: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"purpose": purpose, "status": status, "occurredAt": occurred_at or ago(minutes=1), "channel": "store_tablet", **extra}
    if notice is not None:
        body["noticeId"] = str(notice)
    return body


def state(body: dict[str, Any], purpose: str) -> dict[str, Any]:
    (found,) = [s for s in body["current"] if s["purpose"] == purpose]
    return found


async def post_consent(client, customer: uuid.UUID, body: dict[str, Any], headers: dict[str, str]):  # noqa: ANN001, ANN201
    return await client.post(f"/api/v1/customers/{customer}/consents", json=body, headers=headers)


# --- capture and derivation ---------------------------------------------------------------


async def test_capture_records_the_answer_and_changes_the_derived_state(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"], device_id="tablet-mad-07")
    r = await post_consent(client, s["customer"], capture(s["email_notice"], evidence="signature:4711"), headers)
    assert r.status_code == 201, r.text
    record = r.json()["record"]
    assert record["purpose"] == "marketing_email" and record["status"] == "granted"
    assert record["collectedBy"] == str(s["associate"]["id"]) and record["storeId"] == str(s["madrid"])
    assert record["deviceId"] == "tablet-mad-07" and record["evidence"] == "signature:4711"
    assert record["noticeId"] == str(s["email_notice"]) and record["policyVersion"] == "2025-06"
    assert record["noticeSha256"] == hashlib.sha256(NOTICE_TEXT.encode()).hexdigest() and record["language"] == "es"
    assert record["legalBasis"] == "consent" and record["channel"] == "store_tablet" and record["recordedAt"]
    assert state(r.json(), "marketing_email")["granted"] is True
    assert state(r.json(), "marketing_sms") == {
        "purpose": "marketing_sms", "granted": False, "status": None, "since": None, "expiresAt": None, "noticeVersion": None,
    }
    history = (await client.get(f"/api/v1/customers/{s['customer']}/consents", headers=headers)).json()
    assert [i["id"] for i in history["items"]] == [record["id"]] and history["nextCursor"] is None
    assert state(history, "marketing_email")["granted"] is True and state(history, "marketing_email")["noticeVersion"] == "2025-06"
    assert await ConsentRecord.count().where(ConsentRecord.customer == s["customer"]).run() == 1


async def test_device_id_in_the_body_wins_over_the_token(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"], device_id="tablet-mad-07")
    r = await post_consent(client, s["customer"], capture(s["email_notice"], deviceId="kiosk-3"), headers)
    assert r.json()["record"]["deviceId"] == "kiosk-3"


async def test_an_older_withdrawal_arriving_later_loses_to_a_newer_grant(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"])
    await post_consent(client, s["customer"], capture(s["email_notice"], occurred_at=ago(hours=1)), headers)
    r = await post_consent(client, s["customer"], capture(None, status="withdrawn", occurred_at=ago(days=2)), headers)
    assert r.status_code == 201
    assert state(r.json(), "marketing_email")["granted"] is True
    assert state(r.json(), "marketing_email")["status"] == "granted"


async def test_a_newer_withdrawal_wins_over_a_grant_that_syncs_later(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"])
    withdrawn_at = ago(hours=1)
    await post_consent(client, s["customer"], capture(None, status="withdrawn", occurred_at=withdrawn_at), headers)
    # The tablet that collected the (earlier) grant was offline and syncs only now.
    r = await post_consent(client, s["customer"], capture(s["email_notice"], occurred_at=ago(days=1)), headers)
    assert r.status_code == 201
    current = state(r.json(), "marketing_email")
    assert current["granted"] is False and current["status"] == "withdrawn"
    history = (await client.get(f"/api/v1/customers/{s['customer']}/consents", headers=headers)).json()
    assert [i["status"] for i in history["items"]] == ["withdrawn", "granted"]  # newest occurredAt first


async def test_a_withdrawal_at_the_same_instant_as_a_grant_wins(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"])
    at = ago(hours=3)
    await post_consent(client, s["customer"], capture(None, status="withdrawn", occurred_at=at), headers)
    r = await post_consent(client, s["customer"], capture(s["email_notice"], occurred_at=at), headers)
    assert state(r.json(), "marketing_email")["granted"] is False
    r = await post_consent(client, s["customer"], capture(None, purpose="marketing_email", status="withdrawn", occurred_at=at), headers)
    assert state(r.json(), "marketing_email")["status"] == "withdrawn"


async def test_an_expired_grant_is_not_active_and_hides_consent_gated_fields(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"])
    r = await post_consent(client, s["customer"], capture(s["personalization_notice"], purpose="personalization", occurred_at=ago(days=30), expiresAt=ago(days=1)), headers)
    assert r.status_code == 201, r.text
    current = state(r.json(), "personalization")
    assert current["granted"] is False and current["status"] == "granted" and current["expiresAt"] is not None
    customer = (await client.get(f"/api/v1/customers/{s['customer']}", headers=headers)).json()
    assert customer["sizes"] is None and customer["preferences"] is None
    # A fresh grant without expiry brings them back.
    await post_consent(client, s["customer"], capture(s["personalization_notice"], purpose="personalization"), headers)
    customer = (await client.get(f"/api/v1/customers/{s['customer']}", headers=headers)).json()
    assert customer["sizes"] == {"shoe": "38", "top": "S"}


async def test_withdrawing_personalization_hides_sizes_and_makes_them_unwritable_at_once(client) -> None:
    madrid = await make_store(code="MAD")
    associate = await make_staff(role="associate", stores=[madrid])
    customer = await make_customer(store=madrid)  # granted personalization yesterday
    headers = await login(client, associate["email"])
    assert (await client.get(f"/api/v1/customers/{customer}", headers=headers)).json()["sizes"] == {"shoe": "38", "top": "S"}
    r = await post_consent(client, customer, capture(None, purpose="personalization", status="withdrawn"), headers)
    assert r.status_code == 201 and state(r.json(), "personalization")["granted"] is False
    body = (await client.get(f"/api/v1/customers/{customer}", headers=headers)).json()
    assert body["sizes"] is None and body["preferences"] is None
    r = await client.patch(f"/api/v1/customers/{customer}", json={"sizes": {"shoe": "39"}}, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "FIELDS_NOT_WRITABLE"


# --- validation ---------------------------------------------------------------------------


async def test_capture_validation(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"])
    cases = [
        ("unknown notice", capture(uuid.uuid4()), "noticeId"),
        ("purpose mismatch", capture(s["personalization_notice"], purpose="marketing_email"), "noticeId"),
        ("grant without notice", capture(None), "noticeId"),
        ("future", capture(s["email_notice"], occurred_at=iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30))), "occurredAt"),
        ("before 2000", capture(s["email_notice"], occurred_at="1999-12-31T23:00:00Z"), "occurredAt"),
        ("expiry before occurrence", capture(s["email_notice"], occurred_at=ago(days=2), expiresAt=ago(days=3)), "expiresAt"),
    ]
    for label, body, field in cases:
        r = await post_consent(client, s["customer"], body, headers)
        assert r.status_code == 400, label
        assert r.json()["code"] == "VALIDATION_FAILED" and r.json()["field"] == field, (label, r.json())
    shapes = [
        capture(s["email_notice"], occurred_at="2025-01-01T10:00:00"),  # no time zone
        capture(s["email_notice"], purpose="telepathy"),
        capture(s["email_notice"], status="maybe"),
        capture(s["email_notice"], channel="fax"),
        capture(s["email_notice"], legalBasis="whim"),
        capture(s["email_notice"], evidence="x" * 501),
        capture(s["email_notice"], deviceId="bad id!"),
        capture(s["email_notice"], colour="blue"),
    ]
    for body in shapes:
        r = await post_consent(client, s["customer"], body, headers)
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED", body
    assert await ConsentRecord.count().run() == 0


async def test_small_clock_skew_is_accepted(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"])
    ahead = iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2))
    assert (await post_consent(client, s["customer"], capture(s["email_notice"], occurred_at=ahead), headers)).status_code == 201


async def test_withdrawal_and_denial_need_no_notice(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"])
    r = await post_consent(client, s["customer"], capture(None, status="withdrawn"), headers)
    assert r.status_code == 201 and r.json()["record"]["policyVersion"] is None and r.json()["record"]["noticeSha256"] is None
    r = await post_consent(client, s["customer"], capture(s["email_notice"], status="denied"), headers)
    assert r.status_code == 201 and r.json()["record"]["policyVersion"] == "2025-06"


# --- who may do what ----------------------------------------------------------------------


async def test_associate_of_another_store_gets_not_found(client) -> None:
    s = await _shop()
    headers = await login(client, s["other"]["email"])
    r = await client.get(f"/api/v1/customers/{s['customer']}/consents", headers=headers)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = await post_consent(client, s["customer"], capture(s["email_notice"]), headers)
    assert r.status_code == 404
    r = await client.get(f"/api/v1/customers/{uuid.uuid4()}/consents", headers=headers)
    assert r.status_code == 404


async def test_marketing_cannot_capture_and_sees_no_evidence_device_or_collector(client) -> None:
    s = await _shop()
    await post_consent(client, s["customer"], capture(s["email_notice"], evidence="signature:4711", deviceId="tablet-1"), await login(client, s["associate"]["email"]))
    headers = await login(client, s["marketing"]["email"])
    r = await post_consent(client, s["customer"], capture(None, status="withdrawn"), headers)
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    body = (await client.get(f"/api/v1/customers/{s['customer']}/consents", headers=headers)).json()
    (item,) = body["items"]
    assert item["purpose"] == "marketing_email" and item["status"] == "granted" and item["occurredAt"]
    for hidden in ("evidence", "deviceId", "collectedBy", "storeId", "channel", "noticeSha256", "noticeId", "policyVersion", "recordedAt", "language"):
        assert item[hidden] is None, hidden
    current = state(body, "marketing_email")
    assert current["granted"] is True and current["since"] and current["noticeVersion"] is None


async def test_compliance_reads_full_history_but_does_not_capture(client) -> None:
    s = await _shop()
    seller = await login(client, s["associate"]["email"], device_id="tablet-2")
    await post_consent(client, s["customer"], capture(s["email_notice"], occurred_at=ago(days=3), evidence="signature:1"), seller)
    await post_consent(client, s["customer"], capture(None, status="withdrawn", occurred_at=ago(days=1), evidence="signature:2"), seller)
    headers = await login(client, s["compliance"]["email"])
    body = (await client.get(f"/api/v1/customers/{s['customer']}/consents", headers=headers)).json()
    assert [(i["status"], i["evidence"], i["deviceId"]) for i in body["items"]] == [("withdrawn", "signature:2", "tablet-2"), ("granted", "signature:1", "tablet-2")]
    assert body["items"][1]["collectedBy"] == str(s["associate"]["id"]) and body["items"][1]["noticeSha256"]
    r = await post_consent(client, s["customer"], capture(None, status="withdrawn"), headers)
    assert r.status_code == 403


async def test_manager_and_hq_capture(client) -> None:
    s = await _shop()
    r = await post_consent(client, s["customer"], capture(s["email_notice"]), await login(client, s["manager"]["email"]))
    assert r.status_code == 201 and r.json()["record"]["storeId"] == str(s["madrid"])
    r = await post_consent(client, s["customer"], capture(None, status="withdrawn"), await login(client, s["hq"]["email"]))
    # Head office does not work at the customer's store: no store on the record.
    assert r.status_code == 201 and r.json()["record"]["storeId"] is None
    assert state(r.json(), "marketing_email")["granted"] is False


async def test_restricted_customer_accepts_withdrawals_but_not_grants(client) -> None:
    s = await _shop()
    await Customer.update({Customer.restricted_at: dt.datetime.now(dt.timezone.utc)}).where(Customer.id == s["customer"]).run()
    headers = await login(client, s["associate"]["email"])
    r = await post_consent(client, s["customer"], capture(s["email_notice"]), headers)
    assert r.status_code == 403 and r.json()["code"] == "PROCESSING_RESTRICTED"
    r = await post_consent(client, s["customer"], capture(None, status="withdrawn"), headers)
    assert r.status_code == 201
    r = await post_consent(client, s["customer"], capture(None, status="denied", purpose="marketing_sms"), headers)
    assert r.status_code == 201
    assert (await client.get(f"/api/v1/customers/{s['customer']}/consents", headers=headers)).status_code == 200


async def test_erased_customer_is_not_found(client) -> None:
    s = await _shop()
    await Customer.update({Customer.erased_at: dt.datetime.now(dt.timezone.utc)}).where(Customer.id == s["customer"]).run()
    headers = await login(client, s["associate"]["email"])
    assert (await post_consent(client, s["customer"], capture(None, status="withdrawn"), headers)).status_code == 404
    assert (await client.get(f"/api/v1/customers/{s['customer']}/consents", headers=headers)).status_code == 404


# --- history paging -----------------------------------------------------------------------


async def test_history_pages_newest_first_and_filters_by_purpose(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"])
    for days in (5, 1, 3, 4, 2):
        await post_consent(client, s["customer"], capture(s["email_notice"], occurred_at=ago(days=days)), headers)
    await post_consent(client, s["customer"], capture(None, purpose="marketing_sms", status="denied", occurred_at=ago(days=6)), headers)
    url = f"/api/v1/customers/{s['customer']}/consents"
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "purpose": "marketing_email"}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get(url, params=params, headers=headers)).json()
        seen += [i["occurredAt"] for i in body["items"]]
        assert [c["purpose"] for c in body["current"]] == ["marketing_email"]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    everything = (await client.get(url, headers=headers)).json()
    assert len(everything["items"]) == 6 and len(everything["current"]) == 6
    for params in ({"limit": 201}, {"limit": 0}, {"purpose": "telepathy"}, {"cursor": "nonsense"}):
        r = await client.get(url, params=params, headers=headers)
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED", params


# --- audit --------------------------------------------------------------------------------


async def test_capture_and_history_reads_are_audited_with_field_names_only(client) -> None:
    s = await _shop()
    headers = await login(client, s["associate"]["email"], device_id="tablet-audit")
    await post_consent(client, s["customer"], capture(s["email_notice"], evidence="firma-secreta-99"), headers)
    await client.get(f"/api/v1/customers/{s['customer']}/consents", headers=await login(client, s["marketing"]["email"]))
    rows = await AuditEntry.select().order_by(AuditEntry.seq).output(load_json=True).run()
    (write,) = [r for r in rows if r["action"] == "consent_record"]
    (read,) = [r for r in rows if r["action"] == "consent_read"]
    assert write["customer_ids"] == [str(s["customer"])] and write["actor_id"] == s["associate"]["id"]
    assert {"purpose", "status", "occurred_at", "evidence", "notice_id", "collected_by"} <= set(write["fields"])
    assert write["device_id"] == "tablet-audit" and write["surface"] == "rest"
    assert read["actor_role"] == "marketing" and read["customer_ids"] == [str(s["customer"])]
    assert set(read["fields"]) == {"purpose", "status", "occurred_at", "expires_at"}
    dumped = msgspec.json.encode(rows).decode()
    assert "firma-secreta-99" not in dumped and "marketing_email" not in dumped


# --- notices ------------------------------------------------------------------------------


async def test_notices_are_published_by_compliance_and_hq_and_read_by_everyone(client) -> None:
    s = await _shop()
    text = "Accept să primesc notificări push despre punctele mele de fidelitate. Versiunea 2025-06.\n"
    r = await client.post("/api/v1/consent-notices", json={"purpose": "push_notifications", "version": "2025-06", "language": "ro", "text": text}, headers=await login(client, s["compliance"]["email"]))
    assert r.status_code == 201, r.text
    notice = r.json()
    assert notice["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest() and notice["text"] == text
    assert r.headers["location"] == f"/api/v1/consent-notices/{notice['id']}"
    r = await client.post("/api/v1/consent-notices", json={"purpose": "push_notifications", "version": "2025-06", "language": "en", "text": "I agree to push notifications."}, headers=await login(client, s["hq"]["email"]))
    assert r.status_code == 201
    seller = await login(client, s["associate"]["email"])
    listed = (await client.get("/api/v1/consent-notices", params={"purpose": "push_notifications", "language": "ro"}, headers=seller)).json()
    assert [n["id"] for n in listed["items"]] == [notice["id"]] and listed["nextCursor"] is None
    assert (await client.get(f"/api/v1/consent-notices/{notice['id']}", headers=seller)).json() == notice
    assert (await client.get(f"/api/v1/consent-notices/{uuid.uuid4()}", headers=seller)).status_code == 404
    # And the published notice can be used straight away.
    customer = await make_customer(store=s["madrid"], consents=(), language="ro")
    r = await post_consent(client, customer, capture(uuid.UUID(notice["id"]), purpose="push_notifications"), seller)
    assert r.status_code == 201 and r.json()["record"]["language"] == "ro" and r.json()["record"]["noticeSha256"] == notice["sha256"]


async def test_notices_page_newest_first(client) -> None:
    s = await _shop()
    headers = await login(client, s["compliance"]["email"])
    for version in ("2024-01", "2025-02", "2025-06"):
        await client.post("/api/v1/consent-notices", json={"purpose": "marketing_sms", "version": version, "language": "en", "text": f"SMS offers, {version}."}, headers=headers)
    first = (await client.get("/api/v1/consent-notices", params={"purpose": "marketing_sms", "limit": 2}, headers=headers)).json()
    assert [n["version"] for n in first["items"]] == ["2025-06", "2025-02"]
    second = (await client.get("/api/v1/consent-notices", params={"purpose": "marketing_sms", "limit": 2, "cursor": first["nextCursor"]}, headers=headers)).json()
    assert [n["version"] for n in second["items"]] == ["2024-01"] and second["nextCursor"] is None


async def test_duplicate_notice_is_a_conflict_and_associates_cannot_publish(client) -> None:
    s = await _shop()
    body = {"purpose": "marketing_email", "version": "2025-06", "language": "es", "text": "Otro texto"}
    r = await client.post("/api/v1/consent-notices", json=body, headers=await login(client, s["compliance"]["email"]))
    assert r.status_code == 409 and r.json()["code"] == "CONFLICT"
    for who in ("associate", "marketing", "manager"):
        r = await client.post("/api/v1/consent-notices", json={**body, "version": "2026-01"}, headers=await login(client, s[who]["email"]))
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN", who
    for bad in ({**body, "version": "2026-01", "text": ""}, {**body, "version": "2026-01", "text": "   "}, {**body, "version": "2026-01", "purpose": "telepathy"},
                {**body, "version": "2026-01", "language": "ES"}, {**body, "version": "bad version"}, {**body, "version": "2026-01", "text": "x" * 20001}):
        r = await client.post("/api/v1/consent-notices", json=bad, headers=await login(client, s["compliance"]["email"]))
        assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED", bad
    assert await ConsentNotice.count().run() == 2


async def test_concurrent_publishes_of_the_same_notice_yield_one_notice(client) -> None:
    s = await _shop()
    headers = await login(client, s["compliance"]["email"])
    body = {"purpose": "third_party_sharing", "version": "2026-01", "language": "en", "text": "I agree to share my details with partners."}
    answers = await asyncio.gather(*[client.post("/api/v1/consent-notices", json={**body, "text": f"{body['text']} ({n})"}, headers=headers) for n in range(4)])
    assert sorted(r.status_code for r in answers) == [201, 409, 409, 409]
    assert await ConsentNotice.count().where(ConsentNotice.purpose == "third_party_sharing").run() == 1


# --- GraphQL ------------------------------------------------------------------------------

RECORD = """
mutation Record($customerId: ID!, $input: ConsentCaptureInput!) {
  recordConsent(customerId: $customerId, input: $input) {
    record { id purpose status collectedBy policyVersion noticeSha256 language evidence }
    current { purpose granted status }
  }
}
"""
HISTORY = """
query History($customerId: ID!, $after: String) {
  customerConsents(customerId: $customerId, first: 1, after: $after) {
    edges { cursor node { purpose status evidence deviceId } }
    pageInfo { hasNextPage endCursor }
    current { purpose granted status since noticeVersion }
  }
}
"""


async def gql(client, query: str, variables: dict, headers: dict) -> dict:  # noqa: ANN001
    r = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_graphql_publish_capture_and_history(client) -> None:
    s = await _shop()
    published = await gql(client, "mutation P($input: ConsentNoticeInput!) { publishConsentNotice(input: $input) { id sha256 version } }",
                          {"input": {"purpose": "in_store_recognition", "version": "2025-06", "language": "ca", "text": "Accepto que la botiga em reconegui."}},
                          await login(client, s["hq"]["email"]))
    notice = published["data"]["publishConsentNotice"]
    assert notice["sha256"] == hashlib.sha256("Accepto que la botiga em reconegui.".encode()).hexdigest()
    seller = await login(client, s["associate"]["email"])
    notices = await gql(client, "{ consentNotices(purpose: \"in_store_recognition\", language: \"ca\") { id text } }", {}, seller)
    assert [n["id"] for n in notices["data"]["consentNotices"]] == [notice["id"]]
    data = {"purpose": "in_store_recognition", "status": "granted", "occurredAt": ago(hours=2), "channel": "store_tablet", "noticeId": notice["id"], "evidence": "sig-1"}
    result = await gql(client, RECORD, {"customerId": str(s["customer"]), "input": data}, seller)
    assert "errors" not in result, result
    recorded = result["data"]["recordConsent"]
    assert recorded["record"]["collectedBy"] == str(s["associate"]["id"]) and recorded["record"]["language"] == "ca"
    assert {"purpose": "in_store_recognition", "granted": True, "status": "granted"} in recorded["current"]
    withdrawal = {"purpose": "in_store_recognition", "status": "withdrawn", "occurredAt": ago(hours=1), "channel": "app"}
    assert "errors" not in await gql(client, RECORD, {"customerId": str(s["customer"]), "input": withdrawal}, seller)
    page = (await gql(client, HISTORY, {"customerId": str(s["customer"])}, seller))["data"]["customerConsents"]
    assert [e["node"]["status"] for e in page["edges"]] == ["withdrawn"] and page["pageInfo"]["hasNextPage"] is True
    (current,) = [c for c in page["current"] if c["purpose"] == "in_store_recognition"]
    assert current["granted"] is False and current["status"] == "withdrawn"
    page2 = (await gql(client, HISTORY, {"customerId": str(s["customer"]), "after": page["pageInfo"]["endCursor"]}, seller))["data"]["customerConsents"]
    assert [e["node"]["evidence"] for e in page2["edges"]] == ["sig-1"] and page2["pageInfo"]["hasNextPage"] is False
    marketing = (await gql(client, HISTORY, {"customerId": str(s["customer"])}, await login(client, s["marketing"]["email"])))["data"]["customerConsents"]
    assert marketing["edges"][0]["node"] == {"purpose": "in_store_recognition", "status": "withdrawn", "evidence": None, "deviceId": None}


async def test_graphql_errors_carry_codes(client) -> None:
    s = await _shop()
    seller = await login(client, s["associate"]["email"])
    no_notice = {"purpose": "marketing_email", "status": "granted", "occurredAt": ago(hours=1), "channel": "store_tablet"}
    result = await gql(client, RECORD, {"customerId": str(s["customer"]), "input": no_notice}, seller)
    assert [e["extensions"]["code"] for e in result["errors"]] == ["VALIDATION_FAILED"]
    result = await gql(client, RECORD, {"customerId": str(s["customer"]), "input": {**no_notice, "status": "withdrawn"}}, await login(client, s["marketing"]["email"]))
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]
    result = await gql(client, RECORD, {"customerId": str(s["customer"]), "input": {**no_notice, "status": "withdrawn"}}, await login(client, s["other"]["email"]))
    assert [e["extensions"]["code"] for e in result["errors"]] == ["NOT_FOUND"]
    result = await gql(client, "mutation P($input: ConsentNoticeInput!) { publishConsentNotice(input: $input) { id } }",
                       {"input": {"purpose": "marketing_email", "version": "2025-06", "language": "es", "text": "dup"}}, await login(client, s["compliance"]["email"]))
    assert [e["extensions"]["code"] for e in result["errors"]] == ["CONFLICT"]
