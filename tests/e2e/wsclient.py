"""A minimal graphql-transport-ws client over a real WebSocket, for the tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class GraphQLWS:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self._ids = 0

    @classmethod
    async def open(cls, base_url: str, token: str | None) -> "GraphQLWS":
        url = base_url.replace("http://", "ws://") + "/graphql"
        conn = await connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10)
        client = cls(conn)
        payload = {"headers": {"Authorization": f"Bearer {token}"}} if token else {}
        await conn.send(json.dumps({"type": "connection_init", "payload": payload}))
        return client

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.conn.recv(), timeout))
            if message["type"] not in ("ping", "pong"):
                return message

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        sub_id = str(self._ids)
        await self.conn.send(json.dumps({"id": sub_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}))
        return sub_id

    async def close(self) -> None:
        await self.conn.close()
