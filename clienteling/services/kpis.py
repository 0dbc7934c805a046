"""Seller KPIs per associate and per store over a period.

Who sees what: a seller their own figures (any role that may hold follow-up tasks, i.e. has
the policy's ``task`` resource); holders of ``view_store_kpis`` the figures of every seller of
a store within their customer scope (their own stores, or all for scope ``all``); everyone
else is refused. The answer holds counts and sums only, no customer is named, so reading it
leaves no audit entry (the audit trail records access to personal data).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from uuid import UUID

from clienteling.policy_store import PolicyStore
from clienteling.repositories import kpis as repo
from clienteling.repositories import staff as staff_repo
from domain.customer360 import money
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.kpis import AssociateKpis, KpiFigures, KpiReport, Money, check_period
from domain.staff import Principal
from permissions import row_scope

__all__ = ["KpiService"]


def _money(sums: dict[str, Decimal | float]) -> list[Money]:
    return [Money(currency=c, total=money(v) or "0.00") for c, v in sorted(sums.items())]


class KpiService:
    def __init__(self, policies: PolicyStore) -> None:
        self.policies = policies

    async def report(self, principal: Principal, *, store_id: UUID | None, associate_id: UUID | None, since: dt.datetime | None, until: dt.datetime | None) -> KpiReport:
        """Figures for one seller (``associate_id``, default the caller when no store is
        given) or for every seller of ``store_id``; with a store, only activity on that
        store's customers counts."""
        now = dt.datetime.now(dt.timezone.utc)
        since, until = check_period(since, until, now)
        sellers = await self._sellers(principal, store_id, associate_id)
        ids = [s["id"] for s in sellers]
        pairs = await repo.contacted_pairs(ids, since, until, store_id)
        # A follow-up that is not due yet is neither late nor on time.
        follow_ups = await repo.follow_ups(ids, since, min(until, now), store_id) if since < now else {}
        held = await repo.appointments_held(ids, since, until, store_id)
        sales = await repo.influenced_sales(ids, since, until, store_id)
        associates = []
        for s in sellers:
            due, on_time = follow_ups.get(s["id"], (0, 0))
            figures = KpiFigures(
                clients_contacted=len({c for staff, c in pairs if staff == s["id"]}),
                follow_ups_due=due, follow_ups_on_time=on_time, appointments_held=held.get(s["id"], 0),
                influenced_sales=_money(sales.get(s["id"], {})),
            )
            associates.append(AssociateKpis(associate_id=s["id"], display_name=s["display_name"], figures=figures))
        totals_sales: dict[str, Decimal] = defaultdict(Decimal)
        for per_currency in sales.values():
            for currency, value in per_currency.items():
                totals_sales[currency] += Decimal(money(value) or "0")
        totals = KpiFigures(
            clients_contacted=len({c for _, c in pairs}),
            follow_ups_due=sum(a.figures.follow_ups_due for a in associates),
            follow_ups_on_time=sum(a.figures.follow_ups_on_time for a in associates),
            appointments_held=sum(a.figures.appointments_held for a in associates),
            influenced_sales=_money(dict(totals_sales)),
        )
        return KpiReport(from_=since, to=until, store_id=store_id, associates=associates, totals=totals)

    async def _sellers(self, principal: Principal, store_id: UUID | None, associate_id: UUID | None) -> list[dict]:
        """The sellers the report covers, after checking the caller may see them."""
        policy = self.policies.current
        own = policy.resource(principal.role, "task") is not None
        team = policy.allows(principal.role, "view_store_kpis")
        if not own and not team:
            raise Forbidden("Your role may not read seller KPIs")
        if store_id is not None and not await staff_repo.stores_by_ids([store_id]):
            raise NotFound("No such store")
        if associate_id is None and store_id is None:
            associate_id = principal.staff_id
        if associate_id == principal.staff_id and own:
            if store_id is not None and store_id not in principal.store_ids and row_scope(policy, principal, "customer").kind != "all":
                raise Forbidden("You may only read KPIs of your own stores")
            return await repo.staff_by_ids([principal.staff_id])
        if not team:
            raise Forbidden("You may only read your own KPIs")
        all_stores = row_scope(policy, principal, "customer").kind == "all"
        if store_id is not None and not all_stores and store_id not in principal.store_ids:
            raise Forbidden("You may only read KPIs of your own stores")
        if associate_id is None:
            return await repo.sellers_of_stores([store_id])  # type: ignore[list-item]
        stores = [store_id] if store_id is not None else (None if all_stores else sorted(principal.store_ids, key=str))
        if stores is None:
            found = await repo.staff_by_ids([associate_id])
            found = [s for s in found if s["role"] in ("associate", "store_manager")]
        else:
            found = [s for s in await repo.sellers_of_stores(stores) if s["id"] == associate_id]
        if not found:
            raise ValidationFailed("associateId does not name a seller you may see", extra={"field": "associateId"})
        return [{"id": s["id"], "display_name": s["display_name"]} for s in found]
