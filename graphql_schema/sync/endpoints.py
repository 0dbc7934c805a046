"""``pullX``, ``pushX`` and ``streamX`` for each synced collection, with exactly the operation,
argument and type names RxDB's stock query builders generate (SPEC §6): ``CustomerDoc``,
``CustomerInput``, ``CustomerInputPushRow``, ``CustomerInputCheckpoint``, ``CustomerCheckpoint``,
``CustomerPullBulk``, ``CustomerInputHeaders``, and so on for Note, Task, Appointment,
WishlistItem and Consent.

The types are generated from :data:`domain.sync.COLLECTIONS`, so the document a tablet pulls
and the input it pushes back always have the same fields. Resolvers parse, call the sync
service, and convert; every rule lives in the service.
"""

from collections.abc import AsyncGenerator
from typing import Any, Optional

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from domain.sync import COLLECTIONS, Checkpoint, Collection, snake_case

__all__ = ["SyncQueries", "SyncMutations", "SyncSubscriptions"]

_SCALARS = {"str": str, "int": int, "bool": bool, "json": str}
# Streams: how long a stream waits before re-checking the session when nothing changes.
STREAM_RECHECK_SECONDS = 25.0
STREAM_BATCH = 500
_MAX_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"
# The published API already has NoteInput, TaskInput, AppointmentInput and WishlistItemInput
# (the create inputs of the 360 mutations). RxDB's stock builders never name the document
# input type itself (only XInputPushRow, XInputCheckpoint, XInputHeaders), so those four
# collections name it XDocInput; CustomerInput and ConsentInput keep the SPEC §6 spelling.
_INPUT_NAME_TAKEN = {"Note", "Task", "Appointment", "WishlistItem"}


def _describe(collection: Collection, field: Any) -> str:
    if field.kind == "json":
        return "JSON text (RxDB's stock builders select scalar fields only)."
    return ""


class _Types:
    """The generated strawberry types of one collection."""

    def __init__(self, c: Collection) -> None:
        name = c.name
        self.collection = c
        self.wire_to_attr = {"id": "id", "updatedAt": "updated_at", "deleted": "deleted"}
        doc_ann: dict[str, Any] = {"id": str}
        doc_ns: dict[str, Any] = {}
        in_ann: dict[str, Any] = {"id": str}
        in_ns: dict[str, Any] = {}
        for f in c.fields:
            attr = snake_case(f.wire)
            self.wire_to_attr[f.wire] = attr
            doc_ann[attr] = Optional[_SCALARS[f.kind]]
            in_ann[attr] = Optional[_SCALARS[f.kind]]
            desc = _describe(c, f) or None
            doc_ns[attr] = strawberry.field(description=desc)
            in_ns[attr] = strawberry.field(default=None, description=desc)
        doc_ann.update(updated_at=float, deleted=bool)
        doc_ns["updated_at"] = strawberry.field(description="The server's change-sequence position (never a tablet clock).")
        in_ann.update(updated_at=Optional[float], deleted=Optional[bool])
        in_ns.update(updated_at=strawberry.field(default=None), deleted=strawberry.field(default=None))
        self.Doc = strawberry.type(type(f"{name}Doc", (), {"__annotations__": doc_ann, **doc_ns}), name=f"{name}Doc",
                                   description=f"A {name} as a tablet stores it: flat, permission-filtered; a tombstone has deleted=true and blank fields.")
        input_name = f"{name}DocInput" if name in _INPUT_NAME_TAKEN else f"{name}Input"
        self.Input = strawberry.input(type(input_name, (), {"__annotations__": in_ann, **in_ns}), name=input_name,
                                      description=f"A {name} document as a tablet pushes it back (every field of {name}Doc).")
        self.PushRow = strawberry.input(
            type(f"{name}InputPushRow", (), {
                "__annotations__": {"assumed_master_state": Optional[self.Input], "new_document_state": self.Input},
                "assumed_master_state": strawberry.field(default=None),
            }),
            name=f"{name}InputPushRow",
        )
        self.Checkpoint = strawberry.type(type(f"{name}Checkpoint", (), {"__annotations__": {"id": str, "updated_at": float}}), name=f"{name}Checkpoint")
        self.InputCheckpoint = strawberry.input(type(f"{name}InputCheckpoint", (), {"__annotations__": {"id": str, "updated_at": float}}), name=f"{name}InputCheckpoint")
        self.PullBulk = strawberry.type(
            type(f"{name}PullBulk", (), {"__annotations__": {"documents": list[Optional[self.Doc]], "checkpoint": self.Checkpoint}}),
            name=f"{name}PullBulk",
        )
        self.Headers = strawberry.input(
            type(f"{name}InputHeaders", (), {
                "__annotations__": {"authorization": Optional[str]},
                "authorization": strawberry.field(name="Authorization", default=None),
            }),
            name=f"{name}InputHeaders",
        )

    def doc(self, values: dict[str, Any]) -> Any:
        return self.Doc(**{self.wire_to_attr[k]: v for k, v in values.items() if k in self.wire_to_attr})

    def bulk(self, result: Any) -> Any:
        cp = result.checkpoint
        return self.PullBulk(documents=[self.doc(d) for d in result.documents], checkpoint=self.Checkpoint(id=cp.id, updated_at=float(cp.seq)))

    def plain(self, value: Any) -> dict[str, Any] | None:
        """An input object as a wire-keyed dict (absent = None, as RxDB sends every field)."""
        if value is None:
            return None
        return {wire: getattr(value, attr, None) for wire, attr in self.wire_to_attr.items()}


def _checkpoint(value: Any) -> Checkpoint | None:
    if value is None:
        return None
    seq = value.updated_at
    if seq != seq or seq < 0 or seq > 2**53:  # NaN or out of range
        from domain.errors import ValidationFailed

        raise ValidationFailed("checkpoint.updatedAt is not a change-sequence position", extra={"field": "checkpoint"})
    return Checkpoint(seq=int(seq), id=value.id)


TYPES = {name: _Types(c) for name, c in COLLECTIONS.items()}


def _lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


def _pull_resolver(t: _Types):
    name = t.collection.name

    async def pull(info: Info, limit: int, checkpoint: Optional[t.InputCheckpoint] = None) -> t.PullBulk:  # type: ignore[name-defined]
        principal = await info.context.principal(info)
        result = await info.context.services.sync.pull(principal, name, _checkpoint(checkpoint), limit)
        return t.bulk(result)

    pull.__annotations__ = {"info": Info, "limit": int, "checkpoint": Optional[t.InputCheckpoint], "return": t.PullBulk}
    return pull


def _push_resolver(t: _Types):
    name = t.collection.name
    arg = f"{snake_case(_lower_first(name))}_push_row"

    async def push(info: Info, **kwargs: Any) -> list[t.Doc]:  # type: ignore[name-defined]
        rows = kwargs.get(arg) or []
        principal = await info.context.principal(info)
        pairs = [(t.plain(r.assumed_master_state), t.plain(r.new_document_state)) for r in rows if r is not None]
        conflicts = await info.context.services.sync.push(principal, name, pairs)
        return [t.doc(d) for d in conflicts]

    # strawberry reads the signature: give the push-row argument its RxDB name.
    import inspect

    push.__signature__ = inspect.Signature([
        inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info),
        inspect.Parameter(arg, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Optional[list[Optional[t.PushRow]]]),
    ], return_annotation=list[t.Doc])
    push.__annotations__ = {"info": Info, arg: Optional[list[Optional[t.PushRow]]], "return": list[t.Doc]}
    return push


def _stream_resolver(t: _Types):
    name = t.collection.name

    async def stream(info: Info, headers: Optional[t.Headers] = None) -> AsyncGenerator[t.PullBulk, None]:  # type: ignore[name-defined]
        services = info.context.services
        try:
            principal = await info.context.principal(info)
            await services.sync.check_device(principal)
        except DomainError as exc:
            await _refuse(info, exc)
            return
        head = await services.sync.head()
        position = Checkpoint(seq=head, id=_MAX_UUID)
        while True:
            seen = await services.sync_watcher.wait_beyond(position.seq, STREAM_RECHECK_SECONDS)
            try:  # logout or a revoked device ends the stream
                principal = await info.context.principal(info, refresh=True)
            except DomainError as exc:
                await _refuse(info, exc)
                return
            if seen <= position.seq:
                continue
            result = await services.sync.pull(principal, name, position, STREAM_BATCH)
            if result.documents:
                yield t.bulk(result)
            if len(result.documents) < STREAM_BATCH:
                position = max(result.checkpoint, Checkpoint(seq=seen, id=_MAX_UUID), key=lambda c: c.key) if result.documents else Checkpoint(seq=seen, id=_MAX_UUID)
            else:
                position = result.checkpoint

    stream.__annotations__ = {"info": Info, "headers": Optional[t.Headers], "return": AsyncGenerator[t.PullBulk, None]}
    return stream


async def _refuse(info: Info, exc: DomainError) -> None:
    """An error inside a subscription reaches the stock RxDB client as ``next {data: null}``,
    which crashes it (FIELD-NOTES): close the socket as at connection_init instead (4403),
    and the client keeps retrying quietly until it gets a good token."""
    websocket = getattr(info.context, "websocket", None)
    if websocket is not None:
        await websocket.close(code=4403, reason=exc.code[:120])
    else:
        raise exc


def _root(kind: str) -> type:
    ns: dict[str, Any] = {}
    for name, t in TYPES.items():
        snake = snake_case(_lower_first(name))
        if kind == "query":
            ns[f"pull_{snake}"] = strawberry.field(resolver=_pull_resolver(t), description=f"Offline sync: {name} documents after the checkpoint, in (updatedAt, id) order.")
        elif kind == "mutation":
            ns[f"push_{snake}"] = strawberry.mutation(resolver=_push_resolver(t), description=f"Offline sync: apply tablet writes; returns the server version of each conflicting {name}, [] when none.")
        else:
            ns[f"stream_{snake}"] = strawberry.subscription(resolver=_stream_resolver(t), description=f"Offline sync: {name} changes as they commit.")
    return type(f"Sync{kind.title()}", (), ns)


SyncQueries = strawberry.type(_root("query"))
SyncMutations = strawberry.type(_root("mutation"))
SyncSubscriptions = strawberry.type(_root("subscription"))
