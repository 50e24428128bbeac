"""The HTTP API's application: routes under `/v1`, the live page at `/`, probes, OpenAPI at
`/openapi.json` with interactive docs at `/docs`.

uvicorn scheduler.api.app:create_app --factory   (or `outreach api`)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from scheduler.api import campaigns, deliveries, messages, page, people, problems
from scheduler.api.api_keys import ApiKeys, KeyCache
from scheduler.api.limits import BodyLimit
from scheduler.producer import Enqueuer
from worker.runtime import Runtime, get_runtime

API_VERSION = "1"
UPLOAD_PATH = "/v1/campaigns"

DESCRIPTION = """Enqueue LinkedIn messages, start and steer campaigns, and follow every
delivery. Authenticate with `Authorization: Bearer KEY` (`outreach api-keys create NAME`).
Errors are RFC 9457 problem documents (`application/problem+json`)."""


def _warm(runtime: Runtime) -> None:
    """Build the runtime's parts now, on one thread: request threads then only share them."""
    for part in ("engine", "store", "campaigns", "recipients", "accounts", "policy"):
        getattr(runtime, part)
    runtime.due_index  # noqa: B018 - a cached property: built here, once


def create_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or get_runtime()
    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _warm(runtime)
        app.state.enqueuer = Enqueuer(runtime)
        try:
            yield
        finally:
            app.state.enqueuer.close()

    app = FastAPI(
        title="outreach",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.api_keys = KeyCache(ApiKeys(runtime.engine, runtime.redis))
    problems.install(app)
    app.add_middleware(problems.Unexpected)
    app.add_middleware(
        BodyLimit,
        limit_for=lambda path: (
            settings.api_max_upload_bytes if path == UPLOAD_PATH else settings.api_max_body_bytes
        ),
    )
    for module in (messages, deliveries, campaigns, people, page):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False, response_model=None)
    def readyz(request: Request) -> Any:
        """Ready while the database and Redis answer."""
        try:
            with runtime.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            runtime.redis.ping()
        except Exception as exc:
            return JSONResponse({"status": "unready", "reason": type(exc).__name__}, 503)
        return {"status": "ready"}

    return app
