"""An experiment, never a way to run the service: ``clienteling serve`` with the access audit
switched off (``AuditTrail.record`` does nothing), to measure what the audit appends cost a
request. bench/REPORT.md quotes W1 with and without it, measured back to back.

    CLIENTELING_DATABASE_URL=... CLIENTELING_SECRET_KEY=... \\
        taskset -c 0 python bench/no_audit_serve.py serve --port 8731 --no-audit

Without ``--no-audit`` it is plain ``clienteling serve`` (for the A/B pair)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import clienteling.services.audit as audit  # noqa: E402


async def _no_record(self, actor, **_: object) -> int:  # noqa: ANN001
    return 0


if __name__ == "__main__":
    if "--no-audit" in sys.argv:
        sys.argv.remove("--no-audit")
        audit.AuditTrail.record = _no_record
    from api.cli import main

    sys.argv[0] = "clienteling"
    main()
