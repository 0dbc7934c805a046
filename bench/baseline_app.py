"""The baseline for W1/W2: a bare ASGI app (no framework) with asyncpg and msgspec that
answers the customer 360 query of docs/api.md §16 for a signed-in associate with the JSON the
GraphQL endpoint returns, running the minimal SQL: the session check, the customer, the
consent ledger, purchases with their lines, notes, the merged timeline, and the audit entries
(advisory chain lock, last link, the five hash-chained entries the 360 records, their
subjects) in one transaction that commits before the answer is sent.

    CLIENTELING_DATABASE_URL=postgresql://... CLIENTELING_SECRET_KEY=... \\
        uvicorn bench.baseline_app:app --port 8001

It accepts ``POST /graphql`` with ``{"variables": {"id": ...}}`` (the query text is not
parsed: this is the floor under W1, not a GraphQL server)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import time
import uuid

import asyncpg
import msgspec

from domain.audit import AuditRecord, entry_hash  # the chain's own hash rule (pure: stdlib + msgspec)

_KEY = hmac.new(os.environ["CLIENTELING_SECRET_KEY"].encode(), b"clienteling access token v1", hashlib.sha256).digest()
_URL = os.environ["CLIENTELING_DATABASE_URL"]
_POOL: asyncpg.Pool | None = None
_CHAIN_LOCK = 0x436C69656E74
_PURPOSES = ("marketing_email", "marketing_sms", "push_notifications", "personalization", "in_store_recognition", "third_party_sharing")
_TIERS = (("member", 0), ("silver", 800), ("gold", 2000), ("platinum", 4500))
_CHANNEL = {"store": "In-store purchase", "online": "Online purchase"}
_CONSENT = {"granted": "Consent granted", "denied": "Consent denied", "withdrawn": "Consent withdrawn"}
_GENESIS = "0" * 64


class Claims(msgspec.Struct):
    sub: str
    sid: str
    role: str
    stores: list[str]
    iat: int
    exp: int
    typ: str = "staff"
    dev: str | None = None


class Body(msgspec.Struct):
    variables: dict


_decode_body = msgspec.json.Decoder(Body)
_decode_claims = msgspec.json.Decoder(Claims)
_encode = msgspec.json.Encoder()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(headers: list[tuple[bytes, bytes]]) -> Claims | None:
    for k, v in headers:
        if k == b"authorization":
            parts = v.decode()[7:].split(".")
            if len(parts) == 3 and hmac.compare_digest(parts[2], _b64(hmac.new(_KEY, parts[1].encode(), hashlib.sha256).digest())):
                c = _decode_claims.decode(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
                return c if c.exp > time.time() else None
    return None


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat()


def _mask_email(v: str | None) -> str | None:
    if v is None:
        return None
    local, _, domain = v.partition("@")
    return f"{local[:1]}•••@{domain}"


def _mask_phone(v: str | None) -> str | None:
    if v is None:
        return None
    d = [c for c in v if c.isdigit()]
    return "•••" + "".join(d[-3:]) if len(d) > 3 else "•••"


_SQL_SESSION = "SELECT s.revoked_at, st.active FROM auth_session s JOIN staff st ON st.id = s.staff WHERE s.id = $1"
_SQL_CUSTOMER = ("SELECT id, first_name, last_name, email, phone, sizes, preferences, vip, loyalty_tier, loyalty_points, home_store, "
                 "primary_associate, secondary_associate FROM customer WHERE id = $1 AND erased_at IS NULL AND deleted_at IS NULL")
_SQL_CONSENTS = "SELECT id, purpose, status, occurred_at, expires_at FROM consent_record WHERE customer = $1"
_SQL_PURCHASES = (
    "SELECT p.id, p.occurred_at, p.channel, p.store, p.currency, p.total::text, "
    "(SELECT coalesce(json_agg(json_build_object('sku', l.sku, 'name', l.name, 'quantity', l.quantity, 'unitPrice', l.unit_price::text) ORDER BY l.name, l.sku, l.id), '[]') "
    " FROM purchase_line l WHERE l.purchase = p.id)::text AS lines "
    "FROM purchase p WHERE p.customer = $1 ORDER BY p.occurred_at DESC, p.id DESC LIMIT 11")
_SQL_NOTES = ("SELECT body, pinned FROM note WHERE customer = $1 AND deleted_at IS NULL AND (visibility = 'shared' OR author = $2) "
              "ORDER BY pinned DESC, created_at DESC, id DESC LIMIT 20")
_SQL_TIMELINE = """
(SELECT 'PURCHASE' AS kind, occurred_at, id, channel AS a, total::text AS b, currency AS c FROM purchase WHERE customer = $1 ORDER BY occurred_at DESC LIMIT 20)
UNION ALL (SELECT 'RETURN', occurred_at, id, NULL, total::text, currency FROM purchase_return WHERE customer = $1 ORDER BY occurred_at DESC LIMIT 20)
UNION ALL (SELECT 'NOTE', created_at, id, visibility, pinned::text, NULL FROM note WHERE customer = $1 AND deleted_at IS NULL
           AND (visibility = 'shared' OR author = $2) ORDER BY created_at DESC LIMIT 20)
UNION ALL (SELECT 'CHECK_IN', occurred_at, id, NULL, NULL, NULL FROM check_in WHERE customer = $1 AND $3 ORDER BY occurred_at DESC LIMIT 20)
UNION ALL (SELECT 'APPOINTMENT', starts_at, id, status, channel, NULL FROM appointment WHERE customer = $1 AND starts_at < now() ORDER BY starts_at DESC LIMIT 20)
UNION ALL (SELECT 'TASK', completed_at, id, kind, NULL, NULL FROM task WHERE customer = $1 AND completed_at IS NOT NULL AND deleted_at IS NULL ORDER BY completed_at DESC LIMIT 20)
"""
_SQL_LAST = "SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1"
_SQL_AUDIT = ("INSERT INTO audit_entry (seq, occurred_at, actor_id, actor_role, actor_stores, device_id, surface, operation, action, customer_ids, "
              "fields, purpose, reference, request_id, prev_hash, hash) SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::uuid[], $4::text[], "
              "$5::json[], $6::text[], $7::text[], $8::text[], $9::text[], $10::json[], $11::json[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])")
_SQL_SUBJECTS = "INSERT INTO audit_subject (id, seq, customer) SELECT gen_random_uuid(), s, $2::uuid FROM unnest($1::bigint[]) s"
_APPT = {"held": "held", "no_show": "missed (no show)", "cancelled": "cancelled", "booked": "booked"}
_APPT_CH = {"in_store": "in store", "video": "video", "phone": "phone"}
_TASK = {"follow_up": "Follow-up completed", "post_purchase": "Post-purchase follow-up completed", "birthday": "Birthday follow-up completed", "lapsed": "Win-back follow-up completed"}


def _summary(kind: str, a, b, c) -> str:  # noqa: ANN001
    if kind == "PURCHASE":
        return f"{_CHANNEL.get(a, 'Purchase')}, {b} {c}"
    if kind == "RETURN":
        return f"Return, {b} {c}"
    if kind == "NOTE":
        return "Private note added" if a == "private" else "Pinned note added" if b == "true" else "Note added"
    if kind == "CHECK_IN":
        return "Store visit"
    if kind == "APPOINTMENT":
        return "Appointment" + (f" {_APPT[a]}" if a in _APPT else "") + (f" ({_APPT_CH[b]})" if b in _APPT_CH else "")
    return _TASK.get(a, "Task completed")


async def _customer360(claims: Claims, cid: uuid.UUID) -> dict | None:
    staff = uuid.UUID(claims.sub)
    async with _POOL.acquire() as conn:
        session = await conn.fetchrow(_SQL_SESSION, uuid.UUID(claims.sid))
        if session is None or session["revoked_at"] is not None or not session["active"]:
            return None
        c = await conn.fetchrow(_SQL_CUSTOMER, cid)
        if c is None or str(c["home_store"]) not in claims.stores:
            return {"customer": None}
        now = dt.datetime.now(dt.timezone.utc)
        ledger = await conn.fetch(_SQL_CONSENTS, cid)
        latest: dict[str, asyncpg.Record] = {}
        for r in sorted(ledger, key=lambda r: (r["occurred_at"], r["status"] != "granted")):
            latest[r["purpose"]] = r
        granted = {p for p, r in latest.items() if r["status"] == "granted" and (r["expires_at"] is None or r["expires_at"] > now)}
        purchases = await conn.fetch(_SQL_PURCHASES, cid)
        notes = await conn.fetch(_SQL_NOTES, cid, staff)
        events = await conn.fetch(_SQL_TIMELINE, cid, staff, "in_store_recognition" in granted)
        timeline = [(r["occurred_at"], r["kind"], str(r["id"]), _summary(r["kind"], r["a"], r["b"], r["c"])) for r in events]
        timeline += [(r["occurred_at"], "CONSENT", str(r["id"]), f"{_CONSENT.get(r['status'], 'Consent answer recorded')}: {r['purpose']}") for r in ledger]
        timeline.sort(key=lambda e: (e[0], e[1], e[2]), reverse=True)
        in_book = staff in (c["primary_associate"], c["secondary_associate"])
        personal = "personalization" in granted
        tier_next = next(((n, t) for n, t in _TIERS if t > c["loyalty_points"]), None)
        edges = []
        for p in purchases[:10]:
            cursor = _b64(_encode.encode([_iso(p["occurred_at"]), str(p["id"])]))
            edges.append({"cursor": cursor, "node": {"id": str(p["id"]), "occurredAt": _iso(p["occurred_at"]), "channel": p["channel"],
                                                     "storeId": str(p["store"]) if p["store"] else None, "currency": p["currency"],
                                                     "total": p["total"], "lines": msgspec.Raw(p["lines"].encode())}})
        body = {
            "id": str(cid), "firstName": c["first_name"], "lastName": c["last_name"],
            "email": c["email"] if in_book else _mask_email(c["email"]),
            "phone": c["phone"] if in_book else _mask_phone(c["phone"]),
            "sizes": msgspec.Raw(c["sizes"].encode()) if personal else None,
            "preferences": msgspec.Raw(c["preferences"].encode()) if personal else None,
            "vip": c["vip"],
            "loyalty": {"tier": c["loyalty_tier"], "points": c["loyalty_points"], "nextTier": tier_next[0] if tier_next else None,
                        "pointsToNextTier": tier_next[1] - c["loyalty_points"] if tier_next else None},
            "purchases": {"edges": edges, "pageInfo": {"hasNextPage": len(purchases) > 10, "endCursor": edges[-1]["cursor"] if edges else None}},
            "notes": [{"body": n["body"], "pinned": n["pinned"]} for n in notes],
            "consentSummary": [
                {"purpose": p, "granted": p in granted, "since": _iso(latest[p]["occurred_at"]) if p in latest else None,
                 "expiresAt": _iso(latest[p]["expires_at"]) if p in latest and latest[p]["expires_at"] else None}
                for p in _PURPOSES],
            "timeline": [{"kind": k, "occurredAt": _iso(t), "summary": s, "refId": i} for t, k, i, s in timeline[:20]],
        }
        # The audit: the five entries the 360 records, chained, committed before answering.
        fields = {"read": ["first_name", "last_name", "email" if in_book else "email:masked", "phone" if in_book else "phone:masked", "vip",
                           "loyalty_tier", "loyalty_points"],
                  "purchase_read": ["purchase.total", "purchase.lines"], "note_read": ["note.body", "note.pinned"],
                  "consent_read": ["consent.purpose", "consent.status"], "timeline_read": ["timeline.purchase", "timeline.note", "timeline.consent"]}
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)
            last = await conn.fetchrow(_SQL_LAST)
            seq, prev = (last["seq"], last["hash"]) if last else (0, _GENESIS)
            cols: list[list] = [[] for _ in range(16)]
            for action, names in fields.items():
                seq += 1
                record = AuditRecord(seq=seq, occurred_at=now, actor_id=claims.sub, actor_role=claims.role, actor_stores=sorted(claims.stores),
                                     device_id=claims.dev, surface="graphql", operation="Customer360", action=action, customer_ids=[str(cid)],
                                     fields=sorted(names), purpose=None, reference=None, request_id=None, prev_hash=prev)
                prev = entry_hash(record)
                row = [seq, now, staff, claims.role, _encode.encode(record.actor_stores).decode(), claims.dev, "graphql", "Customer360", action,
                       _encode.encode(record.customer_ids).decode(), _encode.encode(record.fields).decode(), None, None, None, record.prev_hash, prev]
                for i, v in enumerate(row):
                    cols[i].append(v)
            await conn.execute(_SQL_AUDIT, *cols)
            await conn.execute(_SQL_SUBJECTS, cols[0], cid)
        return {"customer": body}


async def _send(send, status: int, payload: bytes) -> None:  # noqa: ANN001
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


async def app(scope, receive, send) -> None:  # noqa: ANN001
    global _POOL
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _POOL = await asyncpg.create_pool(_URL, min_size=2, max_size=10)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _POOL.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    claims = _claims(scope["headers"])
    if claims is None:
        return await _send(send, 401, b'{"errors":[{"message":"not authenticated","extensions":{"code":"UNAUTHENTICATED"}}]}')
    try:
        cid = uuid.UUID(_decode_body.decode(body).variables["id"])
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError, ValueError):
        return await _send(send, 400, b'{"errors":[{"message":"bad request"}]}')
    data = await _customer360(claims, cid)
    if data is None:
        return await _send(send, 401, b'{"errors":[{"message":"session revoked","extensions":{"code":"UNAUTHENTICATED"}}]}')
    await _send(send, 200, _encode.encode({"data": data}))
