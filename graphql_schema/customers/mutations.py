"""Customer mutations."""

from __future__ import annotations

from typing import Optional

import msgspec
import strawberry
from strawberry.types import Info

from domain.customers import CustomerCreate, CustomerUpdate, DuplicateCandidates
from domain.notes import NoteCreate
from graphql_schema.convert import parse_id, to_struct
from graphql_schema.customers.types import (
    CreateCustomerPayload,
    Customer,
    CustomerCreateInput,
    CustomerUpdateInput,
    Note,
    NoteInput,
)

__all__ = ["CustomerMutations"]


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(description="Create a customer. When customers you can reach look like the same person, nothing is created and the payload lists them; pass confirmDuplicate: true to create anyway.")
    async def create_customer(self, info: Info, input: CustomerCreateInput, confirm_duplicate: bool = False) -> CreateCustomerPayload:
        principal = await info.context.principal(info)
        data = msgspec.structs.replace(to_struct(input, CustomerCreate), confirm_duplicate=confirm_duplicate)
        try:
            created = await info.context.services.customers.create(principal, data)
        except DuplicateCandidates as found:
            return CreateCustomerPayload(customer=None, duplicate_candidates=[Customer.of(c) for c in found.candidates])
        return CreateCustomerPayload(customer=Customer.of(created), duplicate_candidates=[])

    @strawberry.mutation(description="Change some fields of a customer; all or nothing. Pass expectedVersion to refuse overwriting a newer version.")
    async def update_customer(self, info: Info, id: strawberry.ID, input: CustomerUpdateInput, expected_version: Optional[int] = None) -> Customer:
        principal = await info.context.principal(info)
        data = to_struct(input, CustomerUpdate)
        updated = await info.context.services.customers.update(principal, parse_id(id), data, if_version=expected_version)
        return Customer.of(updated)

    @strawberry.mutation(description="Add a note to a customer.")
    async def add_note(self, info: Info, customer_id: strawberry.ID, input: NoteInput) -> Note:
        principal = await info.context.principal(info)
        data = to_struct(input, NoteCreate)
        return Note.of(await info.context.services.notes.add(principal, parse_id(customer_id, "customerId"), data))
