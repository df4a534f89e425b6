"""The FastAPI app factory: ``create_app(settings | engine)``.

The lifespan opens the :class:`~shopmind.engine.Engine` (store + current artifacts) when given
settings, starts the artifact watcher (so every worker process follows ``shopmind train`` /
rollback done elsewhere) and the ``training.schedule`` (``Engine.start_schedule``), and closes the
engine on shutdown. An engine passed in is used as is and
left open (its owner closes it).

Layers, outermost first: ServiceMiddleware (request id, body limit → 413, metrics, access log) →
CORS (only when ``settings.server.cors_origins`` is set) → routers. Errors are mapped to HTTP in
``shopmind.api.errors`` only.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

import shopmind
from shopmind.api import errors
from shopmind.api.auth import CUSTOMER_TOKEN_HEADER, CustomerTokens, KeyVerifier, check_web_read_key
from shopmind.api.metrics import Metrics
from shopmind.api.middleware import ServiceMiddleware
from shopmind.api.routers import (
    admin,
    admin_tools,
    chat,
    conversations,
    documents,
    evaluate,
    events,
    forecast,
    health,
    items,
    orders,
    recommendations,
    search,
    tickets,
    tokens,
    users,
)
from shopmind.config import Settings
from shopmind.engine import Engine

log = logging.getLogger("shopmind.api")

ROUTERS = (
    health.router,
    items.router,
    users.router,
    events.router,
    orders.router,
    documents.router,
    recommendations.router,
    search.router,
    chat.router,
    forecast.router,
    tokens.router,
    tickets.router,
    conversations.router,
    admin.router,
    admin_tools.router,
    evaluate.router,
)

DEMO_TOKEN_TTL_S = 3600
WEB_DIR = Path(str(resources.files("shopmind") / "web" / "static"))

DESCRIPTION = """
Recommendations, search, a customer-service assistant and demand forecasts for one shop.

**Keys**: send `Authorization: Bearer <key>` or `X-API-Key: <key>`. Scopes: `read` (browser-safe:
search, recommendations, chat; may be bound to one customer), `ingest` (writes; implies read),
`admin` (everything). Create keys with `shopmind keys create --scope read`. An unbound read key
never sees a customer's history: personal routes need a key bound to the customer, or a
short-lived customer token (`X-Customer-Token`) minted by the shop's backend with
`POST /customer-tokens`.

**Errors**: `{"error": {"type", "status", "message", "request_id", ...}}`; 503 means the capability
is not trained yet.
"""


def create_app(
    source: Settings | Engine | None = None,
    *,
    web_read_key: str | None = None,
    watch_interval_s: float | None = 2.0,
    demo_sign_in: bool = False,
) -> FastAPI:
    """Build the app.

    ``source``: settings (the engine is opened by the lifespan) or an open engine (tests, notebooks).
    ``web_read_key``: an unbound *read* key injected into the storefront page; without it the page
    asks for a key. Any other key is refused (:func:`~shopmind.api.auth.check_web_read_key`).
    ``demo_sign_in``: the page also gets customer tokens for a few customers, so its customer
    switcher can "sign in" (``shopmind demo`` only: it publishes those customers' histories).
    ``watch_interval_s``: poll the artifact ``current`` pointer (None = off).
    """
    engine_given = isinstance(source, Engine)
    settings = source.settings if isinstance(source, Engine) else (source or Settings())
    metrics = Metrics()

    def attach(app: FastAPI, engine: Engine) -> None:
        app.state.engine = engine
        if web_read_key:
            check_web_read_key(engine.store, web_read_key)
        app.state.verifier = KeyVerifier(engine.store)
        app.state.customer_tokens = CustomerTokens(engine.store)
        query_log = getattr(engine.store, "query_log", None)  # SqlStore's batched search/click log
        if query_log is not None:
            query_log.on_drop = metrics.query_log_dropped.inc
        engine.on_swap(lambda b: metrics.set_model(b.run_id, b.loaded_at.timestamp()))
        engine.on_training_done(lambda st: metrics.training(st.state, st.seconds))
        metrics.set_model(engine.bundle.run_id, engine.bundle.loaded_at.timestamp())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine: Engine = app.state.engine if engine_given else Engine.open(settings)
        if not engine_given:
            attach(app, engine)
        if watch_interval_s:
            engine.watch(watch_interval_s)
        if not engine_given:  # the server's own engine runs training.schedule (one node per due time)
            engine.start_schedule()
        log.info(
            "shopmind API ready: run %s, services %s", engine.bundle.run_id, sorted(engine.bundle.services)
        )
        try:
            yield
        finally:
            if not engine_given:
                engine.close()

    app = FastAPI(
        title="shopmind",
        version=shopmind.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.web_read_key = web_read_key
    app.state.demo_sign_in = demo_sign_in
    if isinstance(source, Engine):
        attach(app, source)

    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    _mount_web(app)

    if settings.server.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                CUSTOMER_TOKEN_HEADER,
                "Content-Type",
                "X-Request-ID",
            ],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(ServiceMiddleware, metrics=metrics, max_body_bytes=settings.server.max_body_bytes)
    return app


def _mount_web(app: FastAPI) -> None:
    """Storefront at ``/``, dashboard at ``/dashboard``, API docs at ``/docs`` — every asset local."""
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def storefront() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    @app.get("/dashboard", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(WEB_DIR / "dashboard.html")

    @app.get("/web-config.js", include_in_schema=False)
    def web_config() -> Response:
        # Only an unbound read key may ever be injected into a page (checked when the app starts);
        # admin keys are typed in by the operator.
        config: dict[str, object] = {"readKey": app.state.web_read_key}
        # the storefront's name and currency: [server] shop_name / currency
        config["shopName"] = app.state.settings.server.shop_name
        config["currency"] = app.state.settings.server.currency
        config["categoryNamesZh"] = {
            **_demo_category_names_zh(),
            **app.state.settings.server.category_names_zh,
        }
        if app.state.web_read_key and app.state.demo_sign_in:
            # demo sign-in: the switcher offers a few customers, each with a customer token
            users = _demo_users(app)
            minted = app.state.customer_tokens
            config["demoUsers"] = users
            config["demoTokens"] = {u: minted.mint(u, DEMO_TOKEN_TTL_S, key_id="demo")[0] for u in users}
        body = f"window.SHOPMIND_CONFIG = {json.dumps(config)};\n"
        return Response(body, media_type="application/javascript", headers={"Cache-Control": "no-store"})

    # Swagger UI from the swagger-ui-bundle package (a core dependency): served locally, no CDN
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="shopmind API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


@functools.cache
def _demo_category_names_zh() -> dict[str, str]:
    """English → Chinese category names of the demo catalogue (its generator's bilingual vocabulary)."""
    from shopmind.datasets.synthetic.vocab import LEAVES  # on first use: serving needs no data sets

    names: dict[str, str] = {}
    for leaf in LEAVES:
        for en, zh in zip(leaf.path_en, leaf.path_zh, strict=True):
            names.setdefault(en, zh)  # the first meaning of a name used twice ("Accessories")
    return names


def _demo_users(app: FastAPI) -> list[str]:
    cached = getattr(app.state, "demo_users", None)
    if cached is None:
        try:
            cached = sorted(app.state.engine.store.user_ids())[:12]
        except Exception:  # the page works without suggestions
            cached = []
        app.state.demo_users = cached
    return cached
