"""Workflow queries: my tasks and my schedule."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from graphql_schema.convert import parse_id
from graphql_schema.customers.types import PageInfo
from graphql_schema.workflows.types import Appointment, Task, TaskConnection, TaskEdge, TaskStatusFilter

__all__ = ["WorkflowQueries"]

_SCHEDULE_MAX = 200


@strawberry.type
class WorkflowQueries:
    @strawberry.field(description="Your tasks by due date (open ones by default: not done, not snoozed).")
    async def my_tasks(
        self,
        info: Info,
        status: TaskStatusFilter = TaskStatusFilter.OPEN,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 200.")] = 50,
        after: Optional[str] = None,
    ) -> TaskConnection:
        principal = await info.context.principal(info)
        page, cursors = await info.context.services.tasks.list_with_cursors(
            principal, assignee="me", status=status.value, limit=first, cursor=after, limit_name="first"
        )
        edges = [TaskEdge(cursor=c, node=Task.of(t)) for t, c in zip(page.items, cursors)]
        return TaskConnection(edges=edges, page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=page.next_cursor or (cursors[-1] if cursors else None)))

    @strawberry.field(description="One task.")
    async def task(self, info: Info, id: strawberry.ID) -> Task:
        principal = await info.context.principal(info)
        return Task.of(await info.context.services.tasks.get(principal, parse_id(id)))

    @strawberry.field(description="Your appointments overlapping [from, to), earliest first, every status (default: today and the next 6 days; at most 62 days and 200 appointments).")
    async def my_schedule(
        self,
        info: Info,
        from_: Annotated[Optional[dt.datetime], strawberry.argument(name="from")] = None,
        to: Optional[dt.datetime] = None,
    ) -> list[Appointment]:
        principal = await info.context.principal(info)
        page = await info.context.services.appointments.schedule(principal, associate="me", since=from_, until=to, limit=_SCHEDULE_MAX)
        return [Appointment.of(a) for a in page.items]

    @strawberry.field(description="One appointment.")
    async def appointment(self, info: Info, id: strawberry.ID) -> Appointment:
        principal = await info.context.principal(info)
        return Appointment.of(await info.context.services.appointments.get(principal, parse_id(id)))
