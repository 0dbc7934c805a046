"""Appointments over REST: a customer's appointments, an associate's schedule, changes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from domain.pagination import Page
from domain.staff import Principal
from domain.workflows import Appointment, AppointmentCreate, AppointmentUpdate

__all__ = ["AppointmentController"]


class AppointmentController(Controller):
    path = "/api/v1"
    tags = ["appointments"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/customers/{customer_id:uuid}/appointments", summary="A customer's appointments, latest first")
    async def customer_appointments(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        customer_id: FromPath[UUID],
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[Appointment]:
        return await services_of(request).appointments.customer_page(principal, customer_id, limit=limit, cursor=cursor)

    @post("/customers/{customer_id:uuid}/appointments", summary="Book an appointment for a customer")
    async def book(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[AppointmentCreate]) -> Response[Appointment]:
        """In the future, at most 8 hours long. With yourself by default; only managers name
        another ``associateId``. 409 ``APPOINTMENT_OVERLAP`` when the associate is booked then."""
        appointment = await services_of(request).appointments.book(principal, customer_id, data)
        return Response(appointment, status_code=201, headers={"Location": f"/api/v1/appointments/{appointment.id}"})

    @get("/appointments", summary="An associate's schedule")
    async def schedule(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        associate: Annotated[str | None, QueryParameter(description="me (default) or a staff id of your stores")] = None,
        from_: Annotated[dt.datetime | None, QueryParameter(name="from", description="From this instant (default: today 00:00 UTC)")] = None,
        to: Annotated[dt.datetime | None, QueryParameter(description="Up to this instant (default: a week after from; at most 62 days)")] = None,
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[Appointment]:
        return await services_of(request).appointments.schedule(principal, associate=associate, since=from_, until=to, limit=limit, cursor=cursor)

    @get("/appointments/{appointment_id:uuid}", summary="One appointment")
    async def get_appointment(self, request: Request, principal: NamedDependency[Principal], appointment_id: FromPath[UUID]) -> Appointment:
        return await services_of(request).appointments.get(principal, appointment_id)

    @patch("/appointments/{appointment_id:uuid}", summary="Reschedule or cancel an appointment, or record its outcome")
    async def update(self, request: Request, principal: NamedDependency[Principal], appointment_id: FromPath[UUID], data: JSONBody[AppointmentUpdate]) -> Appointment:
        """``{"action": "reschedule", "startsAt", "endsAt"?}`` (keeps the duration when endsAt
        is left out), ``{"action": "cancel"}``, ``{"action": "held"}`` or ``{"action": "no_show"}``
        (once it has started); ``channel`` and ``notes`` may change too."""
        return await services_of(request).appointments.update(principal, appointment_id, data)
