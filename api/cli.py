"""The ``clienteling`` command: serve, migrate, seed and manage staff."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
from typing import Any
from urllib.parse import urlparse, urlunparse
from uuid import uuid4

from api.settings import Settings, SettingsError, load_settings

__all__ = ["main"]

DEMO_PASSWORD = "clienteling-demo"


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return urlunparse(parsed._replace(netloc=netloc))
    return url


def _settings(demo: bool = False, *, serving: bool = False) -> Settings:
    if demo and not os.environ.get("CLIENTELING_SECRET_KEY"):
        # Demo only: an ephemeral key, exported so every worker process shares it.
        os.environ["CLIENTELING_SECRET_KEY"] = secrets.token_urlsafe(48)
        print("note: CLIENTELING_SECRET_KEY is not set; using a random key for this demo run "
              "(tokens end when the service stops)")
    if demo:
        os.environ["CLIENTELING_DEMO"] = "1"
        _demo_vapid_key()
    try:
        # Only the server signs tokens; the other commands run without the secret.
        return load_settings(require_secret=serving)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


DEMO_VAPID_KEY_FILE = "clienteling-demo-vapid.key"


def _demo_vapid_key() -> None:
    """Demo only: without CLIENTELING_VAPID_PRIVATE_KEY, a key generated once and kept in
    ./clienteling-demo-vapid.key (so a restarted demo keeps its push subscriptions working),
    exported so every process of this run shares it."""
    if os.environ.get("CLIENTELING_VAPID_PRIVATE_KEY"):
        return
    from push.setup import DEMO_VAPID_SUBJECT
    from push.vapid import VapidKeyError, demo_keys

    try:
        keys = demo_keys(DEMO_VAPID_KEY_FILE)
    except (OSError, VapidKeyError) as exc:
        print(f"note: no demo VAPID key ({type(exc).__name__}); Web Push is off for this run", file=sys.stderr)
        return
    os.environ["CLIENTELING_VAPID_PRIVATE_KEY"] = keys.private_key
    os.environ.setdefault("CLIENTELING_VAPID_SUBJECT", DEMO_VAPID_SUBJECT)
    print(f"note: CLIENTELING_VAPID_PRIVATE_KEY is not set; using the demo key in ./{DEMO_VAPID_KEY_FILE}")


async def _push_worker(settings: Settings, once: bool) -> None:
    import signal

    from clienteling.policy_store import PolicyStore
    from clienteling.services.audit import AuditTrail
    from clienteling.services.loyalty import LoyaltyService
    from push.setup import build_sender, loyalty_rules, worker_config
    from push.worker import PushWorker

    sender = build_sender(settings)
    if sender is None:
        print("configuration error: CLIENTELING_VAPID_PRIVATE_KEY is not set: the push worker needs the VAPID key "
              "(generate one with `clienteling vapid generate`)", file=sys.stderr)
        raise SystemExit(2)
    await _migrate(settings, quiet=True)
    from clienteling import db

    await db.start_pool(1, 4)
    audit = AuditTrail(PolicyStore(path=settings.policy_file))
    worker = PushWorker(sender, worker_config(settings), audit=audit, loyalty=LoyaltyService(loyalty_rules(settings), audit))
    try:
        if once:
            report = await worker.drain()
            print(f"push worker: {report.fanned_out} events fanned out, {report.claimed} deliveries handled {report.outcomes}")
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker.run(stop)
    finally:
        await db.close_pool()


async def _loyalty_jobs(settings: Settings) -> None:
    from clienteling.policy_store import PolicyStore
    from clienteling.services.audit import AuditTrail
    from clienteling.services.loyalty import LoyaltyService
    from push.setup import loyalty_rules

    await _connect(settings)
    report = await LoyaltyService(loyalty_rules(settings), AuditTrail(PolicyStore(path=settings.policy_file))).run_jobs()
    print(f"loyalty jobs: points expired for {report.expired_customers} customers, {report.expiring_notices} expiry notices, "
          f"{report.birthday_notices} birthday notices")


async def _connect(settings: Settings) -> None:
    from clienteling import db

    try:
        db.bind(db.engine_from_url(settings.database_url))
        await db.current_engine().run_ddl("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - report any connection failure plainly
        print(
            f"cannot reach the database at CLIENTELING_DATABASE_URL={_redact(settings.database_url)}: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        raise SystemExit(3) from None


async def _migrate(settings: Settings, quiet: bool = False) -> None:
    from clienteling import db

    await _connect(settings)
    applied = await db.migrate()
    if not quiet or applied:
        print(f"migrations: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ", database is current"))


async def _seed_demo(settings: Settings) -> None:
    from clienteling.demo_data import seed_demo
    from clienteling.passwords import Passwords

    await _migrate(settings, quiet=True)
    summary = await seed_demo(Passwords())
    if summary.skipped:
        print("demo data: already loaded")
    else:
        print(
            f"demo data: {summary.stores} stores, {summary.staff} staff, {summary.customers} customers, "
            f"{summary.purchases} purchases, {summary.notes} notes, {summary.consents} consent records, "
            f"{summary.wishlist_items} wishlist items, {summary.tasks} tasks, {summary.appointments} appointments"
        )


def _print_banner(host: str, port: int, demo: bool) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    print()
    print(f"clienteling is starting on {base}")
    print(f"  GraphQL + GraphiQL  {base}/graphql")
    print(f"  REST API docs       {base}/schema  (OpenAPI: {base}/schema/openapi.json)")
    print(f"  health / ready      {base}/health  {base}/ready")
    if demo:
        from clienteling.demo_data import DEMO_LOGINS

        print(f"  demo logins (password: {DEMO_PASSWORD})")
        for email, role, store in DEMO_LOGINS:
            print(f"    {email:<34} {role:<19} {store}")
        print(f"    {'member@example.com':<34} {'loyalty member':<19} (POST /api/v1/members/login)")
        print(f"  try: curl -s {base}/api/v1/auth/login -H 'content-type: application/json' "
              f"-d '{{\"email\":\"associate.madrid@example.com\",\"password\":\"{DEMO_PASSWORD}\"}}'")
    print()
    sys.stdout.flush()


def serving_app() -> Any:
    """The app as ``serve`` runs it: :func:`api.app.create_app` plus what only a
    long-lived serving process wants (see :func:`api.lifecycle.freeze_startup_heap`)."""
    from api.app import create_app
    from api.lifecycle import freeze_startup_heap

    app = create_app()
    app.on_startup.append(freeze_startup_heap)
    return app


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = _settings(demo=args.demo, serving=True)
    if args.demo:
        asyncio.run(_seed_demo(settings))
    else:
        asyncio.run(_migrate(settings))
    _print_banner(args.host, args.port, args.demo)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        # Sum /metrics over all worker processes.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="clienteling-metrics-")
    from api.lifecycle import exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()  # a graceful stop on SIGTERM exits 0 (see api/lifecycle.py)
    uvicorn.run(
        "api.cli:serving_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=None,  # keep our JSON logging
        access_log=False,  # its lines carry query strings (search terms); ours do not
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


async def _create_staff(args: argparse.Namespace, settings: Settings) -> None:
    from clienteling import db
    from clienteling.passwords import Passwords
    from clienteling.repositories import staff as staff_repo
    from domain.staff import Role

    await _migrate(settings, quiet=True)
    try:
        role = Role(args.role)
    except ValueError:
        print(f"--role must be one of: {', '.join(r.value for r in Role)}", file=sys.stderr)
        raise SystemExit(2) from None
    stores = {s["code"]: s["id"] for s in await staff_repo.all_stores()}
    unknown = [c for c in args.store if c not in stores]
    if unknown:
        print(f"unknown store code(s): {', '.join(unknown)} (known: {', '.join(sorted(stores)) or 'none'})", file=sys.stderr)
        raise SystemExit(2)
    if await staff_repo.by_email(args.email):
        print(f"a staff member with email {args.email} already exists", file=sys.stderr)
        raise SystemExit(2)
    password = os.environ.get("CLIENTELING_NEW_STAFF_PASSWORD") or (
        sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    )
    if len(password) < 12:
        print("the password must have at least 12 characters", file=sys.stderr)
        raise SystemExit(2)
    password_hash = await Passwords().hash(password)
    staff_id = uuid4()
    async with db.transaction():
        await staff_repo.insert_staff(
            staff_id=staff_id, email=args.email, display_name=args.name or args.email.split("@")[0],
            role=role.value, password_hash=password_hash, store_ids=[stores[c] for c in args.store],
        )
    print(f"created {role.value} {args.email} ({staff_id})")


async def _audit_verify(settings: Settings) -> None:
    from clienteling.policy_store import PolicyStore
    from clienteling.services.audit import AuditTrail

    await _connect(settings)
    verdict = await AuditTrail(PolicyStore()).verify()
    if verdict.ok:
        print(f"audit chain intact: {verdict.entries} entries verified")
        return
    print(
        f"audit chain BROKEN at entry {verdict.first_bad_entry} ({verdict.problem}); "
        f"{verdict.entries} entries read",
        file=sys.stderr,
    )
    raise SystemExit(1)


async def _retention_run(settings: Settings, dry_run: bool) -> None:
    from clienteling.policy_store import PolicyStore
    from clienteling.services.audit import AuditTrail
    from clienteling.services.data_subject import DataSubjectService

    await _connect(settings)
    policies = PolicyStore(path=settings.policy_file)
    report = await DataSubjectService(policies, AuditTrail(policies)).run_retention(
        retention_days=settings.retention_days, dry_run=dry_run
    )
    # Counts only: a retention report never names anyone.
    due = report.inactive - report.skipped_restricted
    head = f"retention {'dry run' if dry_run else 'run'} ({report.retention_days} days, last activity before {report.cutoff.date().isoformat()}): "
    body = f"{report.inactive} customers inactive, {report.skipped_restricted} restricted (kept), "
    if dry_run:
        print(head + body + f"{due} would be erased; nothing was changed")
    else:
        print(head + body + f"{report.erased} erased")


async def _tasks_generate(settings: Settings, birthday_days: int, lapsed_days: int) -> None:
    import datetime as dt

    from clienteling.policy_store import PolicyStore
    from clienteling.services.audit import AuditTrail
    from clienteling.services.tasks import generate_due_tasks

    await _connect(settings)
    report = await generate_due_tasks(
        dt.datetime.now(dt.timezone.utc), birthday_days=birthday_days, lapsed_days=lapsed_days,
        audit=AuditTrail(PolicyStore(path=settings.policy_file)),
    )
    if report.skipped:
        print("automatic tasks: another process is generating them right now; nothing done")
    else:
        print(f"automatic tasks: {report.birthday} birthday, {report.lapsed} lapsed created")


def main(argv: list[str] | None = None) -> None:
    import warnings

    # piccolo repeats connection failures as coloured warnings; we report them ourselves.
    warnings.filterwarnings("ignore", module=r"piccolo\..*")
    from api.observability import configure_logging

    configure_logging("info", json_logs=os.environ.get("CLIENTELING_JSON_LOGS", "1").lower() not in ("0", "false", "no", "off"))
    parser = argparse.ArgumentParser(prog="clienteling", description="In-store clienteling backend.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP and WebSocket service (applies migrations first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="app processes (use PostgreSQL for more than one)")
    serve.add_argument("--demo", action="store_true", help="load the demo data set and print the demo logins")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])

    sub.add_parser("migrate", help="apply pending database migrations")

    seed = sub.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", required=True, help="the demo data set (SPEC §3)")

    create = sub.add_parser("create-staff", help="create a staff account")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True)
    create.add_argument("--store", action="append", default=[], help="store code; repeat for several")
    create.add_argument("--name", default=None, help="display name")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    audit = sub.add_parser("audit", help="the access audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="recompute the hash chain; exit 1 if it was altered")

    retention = sub.add_parser("retention", help="GDPR retention of inactive customers")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_sub.add_parser(
        "run", help="anonymise customers inactive longer than CLIENTELING_RETENTION_DAYS (restricted ones are kept)"
    )
    run.add_argument("--dry-run", action="store_true", help="only count who would be anonymised; change nothing")

    tasks = sub.add_parser("tasks", help="sellers' tasks and follow-ups")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", required=True)
    generate = tasks_sub.add_parser("generate", help="create the automatic tasks due now (birthdays, lapsed clients); idempotent")
    generate.add_argument("--birthday-days", type=int, default=7, help="birthdays within this many days (default 7)")
    generate.add_argument("--lapsed-days", type=int, default=180, help="no purchase for more than this many days (default 180)")

    worker = sub.add_parser("push-worker", help="deliver Web Push notifications from the outbox (run several on PostgreSQL)")
    worker.add_argument("--once", action="store_true", help="deliver what is due now, then exit")

    vapid = sub.add_parser("vapid", help="VAPID keys for Web Push")
    vapid_sub = vapid.add_subparsers(dest="vapid_command", required=True)
    vapid_sub.add_parser("generate", help="print a new key pair as environment settings")

    loyalty = sub.add_parser("loyalty", help="the loyalty programme")
    loyalty_sub = loyalty.add_subparsers(dest="loyalty_command", required=True)
    loyalty_sub.add_parser("run-jobs", help="expire points, announce expiring points and birthdays (the push worker also does this hourly)")

    schema = sub.add_parser("schema", help="the public contract files (GraphQL SDL, OpenAPI)")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    schema_export = schema_sub.add_parser("export", help="write schema/schema.graphql and schema/openapi.json")
    schema_export.add_argument("--check", action="store_true", help="exit 1 if the files differ from the code")

    args = parser.parse_args(argv)
    if args.command == "serve":
        if args.workers < 1:
            parser.error("--workers must be at least 1")
        _serve(args)
    elif args.command == "migrate":
        asyncio.run(_migrate(_settings()))
    elif args.command == "seed":
        asyncio.run(_seed_demo(_settings()))
    elif args.command == "schema":
        from api.schema_export import export

        differ = export(check=args.check)
        if args.check and differ:
            print(f"out of date: {', '.join(differ)} (run `clienteling schema export`)", file=sys.stderr)
            raise SystemExit(1)
        print("schema files " + ("checked" if args.check else "written") + (f": {', '.join(differ)} changed" if differ and not args.check else ", up to date"))
    elif args.command == "audit":
        asyncio.run(_audit_verify(_settings()))
    elif args.command == "retention":
        asyncio.run(_retention_run(_settings(), args.dry_run))
    elif args.command == "tasks":
        if args.birthday_days < 0 or args.lapsed_days < 1:
            parser.error("--birthday-days must be >= 0 and --lapsed-days >= 1")
        asyncio.run(_tasks_generate(_settings(), args.birthday_days, args.lapsed_days))
    elif args.command == "push-worker":
        asyncio.run(_push_worker(_settings(), args.once))
    elif args.command == "vapid":
        from push.vapid import generate

        keys = generate()
        print("# Web Push VAPID keys: keep the private key secret (an environment variable or a secret store).")
        print(f"CLIENTELING_VAPID_PRIVATE_KEY={keys.private_key}")
        print("CLIENTELING_VAPID_SUBJECT=mailto:push@your-company.example")
        print(f"# public key (served at GET /api/v1/push/vapid-public-key): {keys.public_key}")
    elif args.command == "loyalty":
        asyncio.run(_loyalty_jobs(_settings()))
    elif args.command == "create-staff":
        asyncio.run(_create_staff(args, _settings()))


if __name__ == "__main__":
    main()
