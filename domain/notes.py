"""Seller notes on a customer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

__all__ = ["Note", "NoteCreate", "NoteVisibility"]

NoteVisibility = Literal["shared", "private"]


class Note(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    customer_id: UUID
    author_id: UUID
    body: str
    pinned: bool
    visibility: NoteVisibility
    created_at: dt.datetime
    updated_at: dt.datetime


class NoteCreate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    body: Annotated[str, Meta(min_length=1, max_length=5000)]
    pinned: bool = False
    visibility: NoteVisibility = "shared"
