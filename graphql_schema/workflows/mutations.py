"""Workflow mutations: wishlist items, tasks and appointments."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.workflows import AppointmentCreate, AppointmentUpdate, TaskCreate, TaskUpdate, WishlistItemCreate, WishlistItemUpdate
from graphql_schema.convert import parse_id
from graphql_schema.workflows.convert import input_struct
from graphql_schema.workflows.types import (
    Appointment,
    AppointmentInput,
    AppointmentUpdateInput,
    Task,
    TaskInput,
    TaskUpdateInput,
    WishlistItem,
    WishlistItemInput,
    WishlistItemUpdateInput,
)

__all__ = ["WorkflowMutations"]


@strawberry.type
class WorkflowMutations:
    @strawberry.mutation(description="Add a product to a customer's wishlist (size needs the personalization consent).")
    async def add_wishlist_item(self, info: Info, customer_id: strawberry.ID, input: WishlistItemInput) -> WishlistItem:
        principal = await info.context.principal(info)
        data = input_struct(input, WishlistItemCreate)
        return WishlistItem.of(await info.context.services.wishlist.add(principal, parse_id(customer_id, "customerId"), data))

    @strawberry.mutation(description="Mark a wishlist item fulfilled, or change its notes, size or colour.")
    async def update_wishlist_item(self, info: Info, id: strawberry.ID, input: WishlistItemUpdateInput) -> WishlistItem:
        principal = await info.context.principal(info)
        data = input_struct(input, WishlistItemUpdate)
        return WishlistItem.of(await info.context.services.wishlist.update(principal, parse_id(id), data))

    @strawberry.mutation(description="Take an item off a customer's wishlist; true when done.")
    async def remove_wishlist_item(self, info: Info, id: strawberry.ID) -> bool:
        principal = await info.context.principal(info)
        await info.context.services.wishlist.remove(principal, parse_id(id))
        return True

    @strawberry.mutation(description="Create a follow-up task about a customer.")
    async def create_task(self, info: Info, customer_id: strawberry.ID, input: TaskInput) -> Task:
        principal = await info.context.principal(info)
        data = input_struct(input, TaskCreate)
        return Task.of(await info.context.services.tasks.create(principal, parse_id(customer_id, "customerId"), data))

    @strawberry.mutation(description="Complete, reopen, snooze (until) or reassign (assigneeId) a task, and/or edit it.")
    async def update_task(self, info: Info, id: strawberry.ID, input: TaskUpdateInput) -> Task:
        principal = await info.context.principal(info)
        data = input_struct(input, TaskUpdate)
        return Task.of(await info.context.services.tasks.update(principal, parse_id(id), data))

    @strawberry.mutation(description="Book an appointment; APPOINTMENT_OVERLAP when the associate is already booked then.")
    async def book_appointment(self, info: Info, customer_id: strawberry.ID, input: AppointmentInput) -> Appointment:
        principal = await info.context.principal(info)
        data = input_struct(input, AppointmentCreate)
        return Appointment.of(await info.context.services.appointments.book(principal, parse_id(customer_id, "customerId"), data))

    @strawberry.mutation(description="Reschedule, cancel, or mark held / no_show; channel and notes may change too.")
    async def update_appointment(self, info: Info, id: strawberry.ID, input: AppointmentUpdateInput) -> Appointment:
        principal = await info.context.principal(info)
        data = input_struct(input, AppointmentUpdate)
        return Appointment.of(await info.context.services.appointments.update(principal, parse_id(id), data))
