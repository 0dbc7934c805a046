"""The Litestar app factory: wires settings, database, services, REST and GraphQL once."""

from __future__ import annotations

import logging

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.middleware import DefineMiddleware
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from api.audit_flush import AuditBeforeResponse
from api.deps import AppServices
from api.errors import exception_handlers
from api.graphql_controller import build_graphql_controller
from api.idempotency import IdempotencyMiddleware
from api.lifecycle import Lifecycle, TrackWebSockets
from api.slow_clients import SlowClientTimeout
from api.tracing import build_tracing
from api.problem_docs import document_problems
from api.observability import AccessLogMiddleware, configure_logging, metrics_controller
from api.request_id import add_request_id_header
from api.routes.audit import AuditController
from api.routes.auth import AuthController
from api.routes.consents import ConsentController
from api.routes.customers import CustomerController
from api.routes.data_subject import DataSubjectController
from api.routes.health import health, ready
from api.routes.integrations import IntegrationController
from api.routes.me import me
from api.routes.permissions import BreakGlassController, PermissionsController, PolicyAdminController
from api.routes.appointments import AppointmentController
from api.routes.tasks import TaskController
from api.routes.wishlist import WishlistController
from api.routes.client_books import ClientBookController
from api.routes.customer360 import PurchaseController
from api.settings import Settings, load_settings
from clienteling import db
from clienteling.events import build_bus
from clienteling.passwords import Passwords
from clienteling.policy_store import PolicyStore
from clienteling.services.audit import AuditTrail
from clienteling.services.auth import AuthConfig, AuthService
from clienteling.services.break_glass import BreakGlassService
from clienteling.services.consents import ConsentLedger
from clienteling.services.customers import CustomerService
from clienteling.services.data_subject import DataSubjectService
from clienteling.services.integrations import IntegrationService
from clienteling.services.loyalty import LoyaltyService
from clienteling.services.members import MemberService
from clienteling.services.push import PushConfig, PushService
from api.routes.members import MemberController
from api.routes.push import PushController, StaffPushController
from push.setup import build_sender, loyalty_rules, vapid_keys, worker_config
from push.worker import BackgroundWorker, PushWorker
from clienteling.services.notes import NoteService
from clienteling.services.staff import StaffService
from clienteling.services.appointments import AppointmentService
from clienteling.services.appointment_reminders import remind_starting_soon
from clienteling.services.task_scheduler import DueTaskScheduler
from clienteling.services.tasks import TaskService, generate_due_tasks
from clienteling.services.wishlist import WishlistService
from clienteling.services.client_books import ClientBookService
from clienteling.services.customer360 import Customer360Service
from clienteling.services.kpis import KpiService
from clienteling.services.sync import SyncService
from clienteling.services.devices import DeviceService
from api.routes.devices import DeviceController
from clienteling.services.sync_stream import SyncHeadWatcher
from clienteling.tokens import TokenSigner
from graphql_schema.context import GraphQLContext, Services
from graphql_schema.persisted import PersistedQueries, load_allowlist
from graphql_schema.schema import build_schema
from permissions import Policy

__all__ = ["create_app", "build_services"]

# Response compression levels: CPU per byte against bytes on the store's Wi-Fi. Litestar's
# defaults (gzip 9, brotli 5) made gzip the largest single cost of a first sync: a pull page
# of 2,000 documents (1.9 MB of JSON) took 72 ms to compress at gzip 9 and 13 ms at 3, for
# 18% more bytes (276 -> 324 kB); brotli 4 takes 23 ms instead of 30 for 6% more (209 ->
# 221 kB). Measured with bench/sync_bench.py data; see docs/operations.md.
GZIP_LEVEL = 3
BROTLI_QUALITY = 4

log = logging.getLogger("clienteling")


def build_services(settings: Settings, *, passwords: Passwords | None = None, policy: Policy | None = None) -> AppServices:
    policies = PolicyStore(policy, path=settings.policy_file)
    events = build_bus(settings.redis_url)
    audit = AuditTrail(policies)
    break_glass = BreakGlassService(policies, audit)
    auth_config = AuthConfig(
        refresh_token_ttl=settings.refresh_token_ttl,
        login_max_failures_account=settings.login_max_failures_account,
        login_max_failures_ip=settings.login_max_failures_ip,
        login_window_seconds=settings.login_window_seconds,
    )
    notes = NoteService(policies, audit, events)
    wishlist = WishlistService(policies, audit, events)
    tasks = TaskService(policies, audit, events)
    appointments = AppointmentService(policies, audit, events)
    customers = CustomerService(policies, audit, break_glass, events)
    consents = ConsentLedger(policies, audit)
    sync = SyncService(policies, audit, customers=customers, notes=notes, tasks=tasks, appointments=appointments, wishlist=wishlist, consents=consents)
    loyalty = LoyaltyService(loyalty_rules(settings), audit)
    keys = vapid_keys(settings)
    return AppServices(
        loyalty=loyalty,
        members=MemberService(auth_config, TokenSigner(settings.secret_key, settings.access_token_ttl), passwords or Passwords(), audit, loyalty),
        push=PushService(PushConfig(public_key=keys.public_key if keys else None, allow_http_loopback=settings.push_allow_http_loopback), audit, policies),
        push_sender=build_sender(settings),
        sync=sync,
        sync_watcher=SyncHeadWatcher(),
        devices=DeviceService(policies),
        auth=AuthService(auth_config, TokenSigner(settings.secret_key, settings.access_token_ttl), passwords or Passwords()),
        customers=customers,
        events=events,
        audit=audit,
        consents=consents,
        data_subject=DataSubjectService(policies, audit),
        integrations=IntegrationService(audit, events, webhook_secret=settings.webhook_secret, loyalty=loyalty),
        break_glass=break_glass,
        notes=notes,
        wishlist=wishlist,
        tasks=tasks,
        appointments=appointments,
        customer360=Customer360Service(policies, audit),
        client_books=ClientBookService(policies, audit, events),
        kpis=KpiService(policies),
        staff=StaffService(),
        policies=policies,
    )


def create_app(settings: Settings | None = None, *, passwords: Passwords | None = None, policy: Policy | None = None, manage_database: bool = True, span_exporter: object | None = None) -> Litestar:
    """Build the application. With ``manage_database`` the app binds the configured database
    at start-up and closes its pool at shutdown; tests that bind their own pass False.
    ``span_exporter`` turns tracing on with that OpenTelemetry exporter (tests)."""
    settings = settings or load_settings()
    # Shutdown hooks: app.state.lifecycle.add_stopper(name, async_fn) (see api/lifecycle.py).
    lifecycle = Lifecycle(grace_seconds=settings.shutdown_grace_seconds)
    tracing = build_tracing(settings.otel_exporter, span_exporter=span_exporter)
    if manage_database:
        # Each worker process configures its own logging (spawned workers inherit nothing).
        configure_logging("info", json_logs=settings.json_logs)
    services = build_services(settings, passwords=passwords, policy=policy)
    # Automatic tasks (birthdays, lapsed clients) every 10 minutes while the app runs.
    due_tasks = DueTaskScheduler(lambda now: generate_due_tasks(now, audit=services.audit, events=services.events))
    # "Appointment starting soon" alerts: checked every minute, each sent once (see module).
    reminders = DueTaskScheduler(lambda now: remind_starting_soon(now, events=services.events), interval=60.0, first_delay=2.0)
    lifecycle.add_stopper("automatic tasks", due_tasks.stop)
    lifecycle.add_stopper("appointment reminders", reminders.stop)
    # Web Push delivery inside this process (single-machine default; docs/push.md).
    push_worker = None
    if manage_database and settings.push_worker_in_serve and services.push_sender is not None:
        push_worker = BackgroundWorker(PushWorker(services.push_sender, worker_config(settings), audit=services.audit, loyalty=services.loyalty))
        lifecycle.add_stopper("push worker", push_worker.stop)
    lifecycle.add_stopper("sync head watcher", services.sync_watcher.stop)
    gql_services = Services(
        consents=services.consents,
        data_subject=services.data_subject,
        auth=services.auth, customers=services.customers, notes=services.notes, staff=services.staff,
        break_glass=services.break_glass, policies=services.policies, events=services.events,
        wishlist=services.wishlist, tasks=services.tasks, appointments=services.appointments,
        customer360=services.customer360, client_books=services.client_books, kpis=services.kpis,
        sync=services.sync, sync_watcher=services.sync_watcher,
    )

    async def graphql_context() -> GraphQLContext:
        return GraphQLContext(services=gql_services)

    GraphQLController = build_graphql_controller(
        build_schema(introspection=settings.graphql_introspection, max_cost=settings.graphql_max_cost), graphql_context, graphiql=settings.graphiql,
        persisted=PersistedQueries(allowlist=load_allowlist(settings.graphql_allowlist) if settings.graphql_allowlist else None),
        tracing=tracing,
    )

    async def on_startup() -> None:
        if manage_database:
            db.bind(db.engine_from_url(settings.database_url))
            await db.start_pool(settings.db_pool_min, settings.db_pool_max)
        due_tasks.start()
        reminders.start()
        if push_worker is not None:
            push_worker.start()
        lifecycle.install_signal_handlers()

    async def on_shutdown() -> None:
        await lifecycle.stop()  # background loops and every other registered stopper
        await services.events.close()
        if tracing is not None:
            await tracing.shutdown()
        if manage_database:
            await db.close_pool()

    app = Litestar(
        route_handlers=[
            health, ready, metrics_controller(settings.metrics_token), me, AuthController, CustomerController, PermissionsController,
            BreakGlassController, PolicyAdminController, AuditController, GraphQLController,
            DataSubjectController,
            ConsentController,
            IntegrationController,
            WishlistController, TaskController, AppointmentController,
            PurchaseController, ClientBookController,
            MemberController, PushController, StaffPushController,
            DeviceController,
        ],
        exception_handlers=exception_handlers,
        logging_config=None,  # ours: JSON lines with the request id (api.observability)
        before_send=[add_request_id_header],
        middleware=[
            DefineMiddleware(SlowClientTimeout, timeout=settings.request_body_timeout_seconds),
            *(tracing.middleware() if tracing is not None else []),
            DefineMiddleware(TrackWebSockets, lifecycle=lifecycle),
            AccessLogMiddleware,
            # HTTP only: a WebSocket is one long "request", and wrapping its every frame's send
            # cost live-alert fan-out time (bench/REPORT.md, W6).
            PrometheusConfig(app_name="clienteling", prefix="clienteling_http", group_path=True, exclude=["/metrics", "/health"], scopes={ScopeType.HTTP}).middleware,
            DefineMiddleware(IdempotencyMiddleware, signer=services.auth.signer, max_body=settings.max_body_bytes),
            # Innermost: the request's audit entries are written before its response starts.
            DefineMiddleware(AuditBeforeResponse, audit=services.audit),
        ],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=settings.max_body_bytes,
        compression_config=CompressionConfig(backend="brotli", minimum_size=1024, brotli_gzip_fallback=True,
                                             brotli_quality=BROTLI_QUALITY, gzip_compress_level=GZIP_LEVEL),
        openapi_config=OpenAPIConfig(
            title="clienteling",
            version="0.1.0",
            description="In-store clienteling API. Errors are RFC 9457 problem+json with a stable `code`.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
    )
    document_problems(app)  # the OpenAPI document names every problem+json answer
    app.state.services = services
    app.state.due_tasks = due_tasks
    app.state.lifecycle = lifecycle
    app.state.settings = settings
    return app
