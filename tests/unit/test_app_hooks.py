"""Litestar runs a plain-function hook in its thread pool (``ensure_async_callable`` wraps it
in ``AsyncCallable``). A ``before_send`` hook runs for every message sent: each response
start, each body chunk and each WebSocket frame, so a plain function there costs a thread
round trip per frame (it showed up as a sixth of the server's CPU in the W6 fan-out profile).
The app's per-message and per-request hooks must be coroutine functions."""

from __future__ import annotations

from litestar.utils.sync import AsyncCallable

from api.app import create_app
from api.request_id import add_request_id_header
from api.settings import load_settings
from tests.factories import FAST_PASSWORDS


def _app():  # noqa: ANN202
    settings = load_settings({"CLIENTELING_DATABASE_URL": "sqlite:///:memory:", "CLIENTELING_SECRET_KEY": "hooks-test-secret-" + "h" * 32})
    return create_app(settings, passwords=FAST_PASSWORDS, manage_database=False)


def test_no_app_hook_is_run_in_the_thread_pool() -> None:
    app = _app()
    assert add_request_id_header in app.before_send
    hooks = [*app.before_send, *app.after_exception]
    threaded = [getattr(h, "func", h) for h in hooks if isinstance(h, AsyncCallable)]
    assert threaded == []



def test_no_dependency_of_any_route_is_run_in_the_thread_pool() -> None:
    """strawberry provides the GraphQL response object with ``sync_to_thread=True``; the app
    replaces it, and no other provider may bring a thread round trip back per request."""
    app = _app()
    threaded = []
    checked = 0
    for route in app.routes:
        handlers = getattr(route, "route_handlers", None) or [route.route_handler]
        for handler in handlers:
            for name, provider in handler.resolve_dependencies().items():
                checked += 1
                if isinstance(provider.dependency, AsyncCallable):
                    threaded.append(f"{route.path} {name}")
    assert checked > 0 and threaded == []
