"""The sections of the Art. 15/20 export document: one small function per kind of data held
about a customer, each given the customer row and returning that section's content.

A later kind of data (the loyalty ledger, push subscriptions) adds a function here and a
line in :data:`EXPORT_SECTIONS`, and its removal or pseudonymisation to the erasure in
``clienteling.services.data_subject``; nothing else changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from clienteling.repositories import data_subject as repo
from clienteling.services import loyalty_export
from domain.data_subject import (
    AccessLogEntry,
    AppointmentExport,
    BreakGlassExport,
    CheckInExport,
    ConsentExport,
    ConsentNoticeExport,
    ErasureRequestExport,
    NoteExport,
    ProfileExport,
    PurchaseExport,
    PurchaseLineExport,
    ReturnExport,
    TaskExport,
    WishlistItemExport,
    money,
)

__all__ = ["ExportSection", "EXPORT_SECTIONS"]


def _uuid(value: Any) -> UUID | None:
    return None if value is None else value if isinstance(value, UUID) else UUID(str(value))


async def _profile(row: dict[str, Any]) -> ProfileExport:
    return ProfileExport(
        id=row["id"], first_name=row["first_name"], last_name=row["last_name"], email=row["email"],
        phone=row["phone"], birthdate=row["birthdate"], language=row["language"], home_store_id=row["home_store"],
        primary_associate_id=row["primary_associate"], secondary_associate_id=row["secondary_associate"],
        sizes=row["sizes"] or {}, preferences=row["preferences"] or {}, tags=row["tags"] or [], vip=row["vip"],
        loyalty_number=row["loyalty_number"], loyalty_tier=row["loyalty_tier"], loyalty_points=row["loyalty_points"],
        name_key=row["name_key"], email_key=row["email_key"], phone_key=row["phone_key"], version=row["version"],
        created_at=row["created_at"], updated_at=row["updated_at"], deleted_at=row["deleted_at"],
        erased_at=row["erased_at"], restricted_at=row["restricted_at"],
        birth_mmdd=row.get("birth_mmdd"), last_purchase_at=row.get("last_purchase_at"),
        lifetime_value_eur=money(row.get("lifetime_value") or 0),
    )


async def _purchases(row: dict[str, Any]) -> list[PurchaseExport]:
    purchases = await repo.purchases(row["id"])
    lines = await repo.lines_of([p["id"] for p in purchases])
    return [
        PurchaseExport(
            id=p["id"], external_id=p["external_id"], store_id=p["store"], channel=p["channel"],
            occurred_at=p["occurred_at"], currency=p["currency"], total=money(p["total"]), created_at=p["created_at"],
            lines=[
                PurchaseLineExport(id=ln["id"], sku=ln["sku"], name=ln["name"], quantity=ln["quantity"], unit_price=money(ln["unit_price"]))
                for ln in lines.get(p["id"], [])
            ],
        )
        for p in purchases
    ]


async def _notes(row: dict[str, Any]) -> list[NoteExport]:
    return [
        NoteExport(
            id=n["id"], author_id=n["author"], body=n["body"], pinned=n["pinned"], visibility=n["visibility"],
            created_at=n["created_at"], updated_at=n["updated_at"], deleted_at=n["deleted_at"],
        )
        for n in await repo.notes(row["id"])
    ]


async def _returns(row: dict[str, Any]) -> list[ReturnExport]:
    return [
        ReturnExport(
            id=r["id"], external_id=r["external_id"], purchase_id=r["purchase"], store_id=r["store"],
            occurred_at=r["occurred_at"], currency=r["currency"], total=money(r["total"]), lines=r["lines"] or [],
            created_at=r["created_at"],
        )
        for r in await repo.returns(row["id"])
    ]


async def _wishlist(row: dict[str, Any]) -> list[WishlistItemExport]:
    return [
        WishlistItemExport(
            id=w["id"], sku=w["sku"], product_name=w["product_name"], size=w["size"], colour=w["colour"], notes=w["notes"],
            added_by=w["added_by"], fulfilled_at=w["fulfilled_at"], created_at=w["created_at"], updated_at=w["updated_at"],
            deleted_at=w["deleted_at"],
        )
        for w in await repo.wishlist(row["id"])
    ]


async def _tasks(row: dict[str, Any]) -> list[TaskExport]:
    return [
        TaskExport(
            id=t["id"], kind=t["kind"], title=t["title"], details=t["details"], store_id=t["store"], assignee_id=t["assignee"],
            created_by=t["created_by"], due_at=t["due_at"], snoozed_until=t["snoozed_until"], completed_at=t["completed_at"],
            completed_by=t["completed_by"], source_ref=t["source_ref"], created_at=t["created_at"], updated_at=t["updated_at"],
            deleted_at=t["deleted_at"],
        )
        for t in await repo.tasks(row["id"])
    ]


async def _appointments(row: dict[str, Any]) -> list[AppointmentExport]:
    return [
        AppointmentExport(
            id=a["id"], associate_id=a["associate"], store_id=a["store"], channel=a["channel"], starts_at=a["starts_at"],
            ends_at=a["ends_at"], status=a["status"], notes=a["notes"], created_by=a["created_by"], created_at=a["created_at"],
            updated_at=a["updated_at"],
        )
        for a in await repo.appointments(row["id"])
    ]


async def _check_ins(row: dict[str, Any]) -> list[CheckInExport]:
    return [
        CheckInExport(id=c["id"], external_id=c["external_id"], store_id=c["store"], occurred_at=c["occurred_at"], created_at=c["created_at"])
        for c in await repo.check_ins(row["id"])
    ]


async def _consents(row: dict[str, Any]) -> list[ConsentExport]:
    records = await repo.consents(row["id"])
    notices = await repo.notices(sorted({r["notice"] for r in records if r["notice"] is not None}, key=str))

    def notice(notice_id: UUID | None) -> ConsentNoticeExport | None:
        n = notices.get(notice_id) if notice_id is not None else None
        if n is None:
            return None
        return ConsentNoticeExport(
            id=n["id"], purpose=n["purpose"], version=n["version"], language=n["language"], sha256=n["sha256"],
            text=n["text"], published_at=n["published_at"],
        )

    return [
        ConsentExport(
            id=r["id"], purpose=r["purpose"], status=r["status"], occurred_at=r["occurred_at"], expires_at=r["expires_at"],
            legal_basis=r["legal_basis"], channel=r["channel"], collected_by=r["collected_by"], store_id=r["store"],
            device_id=r["device_id"], policy_version=r["policy_version"], notice_sha256=r["notice_sha256"],
            language=r["language"], evidence=r["evidence"], recorded_at=r["recorded_at"], notice=notice(r["notice"]),
        )
        for r in records
    ]


async def _break_glass(row: dict[str, Any]) -> list[BreakGlassExport]:
    return [
        BreakGlassExport(
            id=g["id"], staff_id=g["staff"], store_id=g["store"], reason=g["reason"], created_at=g["created_at"],
            expires_at=g["expires_at"],
        )
        for g in await repo.break_glass_grants(row["id"])
    ]


async def _erasure_requests(row: dict[str, Any]) -> list[ErasureRequestExport]:
    return [
        ErasureRequestExport(id=e["id"], reference=e["reference"], requested_by=e["requested_by"], completed_at=e["completed_at"])
        for e in await repo.erasure_requests(row["id"])
    ]


async def _access_log(row: dict[str, Any]) -> list[AccessLogEntry]:
    return [
        AccessLogEntry(
            seq=e["seq"], occurred_at=e["occurred_at"], actor_id=_uuid(e["actor_id"]), actor_role=e["actor_role"],
            device_id=e["device_id"], surface=e["surface"], operation=e["operation"], action=e["action"],
            fields=e["fields"], purpose=e["purpose"], reference=e["reference"], request_id=e["request_id"], hash=e["hash"],
        )
        for e in await repo.access_log(row["id"])
    ]


ExportSection = tuple[str, Callable[[dict[str, Any]], Awaitable[Any]]]

EXPORT_SECTIONS: tuple[ExportSection, ...] = (
    ("profile", _profile),
    ("purchases", _purchases),
    ("returns", _returns),
    ("notes", _notes),
    ("wishlist", _wishlist),
    ("tasks", _tasks),
    ("appointments", _appointments),
    ("checkIns", _check_ins),
    ("consents", _consents),
    ("breakGlassGrants", _break_glass),
    ("erasureRequests", _erasure_requests),
    ("accessLog", _access_log),
    ("loyaltyLedger", loyalty_export.loyalty_ledger),
    ("memberAccount", loyalty_export.member_account),
    ("pushSubscriptions", loyalty_export.push_subscriptions),
    ("notificationHistory", loyalty_export.notification_history),
)
