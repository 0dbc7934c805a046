"""Tasks and follow-ups over REST: a customer's tasks, my tasks, and task actions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from domain.pagination import Page
from domain.staff import Principal
from domain.workflows import Task, TaskCreate, TaskUpdate

__all__ = ["TaskController"]

Status = Literal["open", "snoozed", "done", "all"]


class TaskController(Controller):
    path = "/api/v1"
    tags = ["tasks"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/customers/{customer_id:uuid}/tasks", summary="A customer's tasks by due date")
    async def customer_tasks(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        customer_id: FromPath[UUID],
        status: Annotated[Status, QueryParameter(description="open (not done, not snoozed), snoozed, done or all (default)")] = "all",
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[Task]:
        return await services_of(request).tasks.customer_page(principal, customer_id, status=status, limit=limit, cursor=cursor)

    @post("/customers/{customer_id:uuid}/tasks", summary="Create a follow-up task about a customer")
    async def create_task(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[TaskCreate]) -> Response[Task]:
        """For yourself by default; only managers may name another ``assigneeId`` (an active
        associate or manager of the customer's store)."""
        task = await services_of(request).tasks.create(principal, customer_id, data)
        return Response(task, status_code=201, headers={"Location": f"/api/v1/tasks/{task.id}"})

    @get("/tasks", summary="My tasks, or a store's tasks for managers, by due date")
    async def list_tasks(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        assignee: Annotated[str | None, QueryParameter(description="me, or a staff id (managers). Default: me for sellers, the whole store for managers")] = None,
        status: Annotated[Status, QueryParameter(description="open (default: not done, not snoozed), snoozed, done or all")] = "open",
        due_before: Annotated[dt.datetime | None, QueryParameter(name="dueBefore", description="Only tasks due before this instant")] = None,
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[Task]:
        return await services_of(request).tasks.list(principal, assignee=assignee, status=status, due_before=due_before, limit=limit, cursor=cursor)

    @get("/tasks/{task_id:uuid}", summary="One task")
    async def get_task(self, request: Request, principal: NamedDependency[Principal], task_id: FromPath[UUID]) -> Task:
        return await services_of(request).tasks.get(principal, task_id)

    @patch("/tasks/{task_id:uuid}", summary="Complete, reopen, snooze, reassign or edit a task")
    async def update_task(self, request: Request, principal: NamedDependency[Principal], task_id: FromPath[UUID], data: JSONBody[TaskUpdate]) -> Task:
        """``{"action": "complete"}``, ``{"action": "reopen"}``, ``{"action": "snooze", "until": ...}``
        (a future instant, at most a year ahead), ``{"action": "reassign", "assigneeId": ...}``
        (sellers may only take a task for themselves), and/or ``title``, ``details``, ``dueAt``."""
        return await services_of(request).tasks.update(principal, task_id, data)
