"""SQL statements per request, counted in-process: the app is built as ``clienteling serve``
builds it and driven through Litestar's test client, while piccolo's query log hook (the one
the suite's statement-count test uses) counts what reaches the database. BEGIN/COMMIT are not
included. Run by bench/run.py in a subprocess with the service's environment; prints JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def main(spec_path: str) -> None:
    from litestar.testing import AsyncTestClient

    from api.app import create_app
    from clienteling import db

    spec = json.loads(Path(spec_path).read_text())
    app = create_app()
    out = {}
    async with AsyncTestClient(app=app) as client:
        engine = db.current_engine()
        seen: list[str] = []
        original = type(engine).print_query

        def record(self, query_id: int, query: str) -> None:  # noqa: ANN001
            seen.append(query)

        type(engine).print_query = record
        try:
            for name, requests in spec.items():
                counts = []
                for req in requests:
                    # warm once (caches, policy load), then count
                    for attempt in range(2):
                        seen.clear()
                        engine.log_queries = True
                        r = await client.request(req["method"], req["path"], headers=req.get("headers"), content=req.get("body", "").encode())
                        engine.log_queries = False
                        assert r.status_code < 300, (name, r.status_code, r.text[:300])
                    counts.append(len(seen))
                out[name] = {"min": min(counts), "max": max(counts), "mean": sum(counts) / len(counts), "example": [q[:160] for q in seen] if "-v" in sys.argv else None}
        finally:
            type(engine).print_query = original
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
