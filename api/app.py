"""The ASGI app: `create_app(settings)` builds it once, with its database, SES and rate
limit; `bouncedesk api` serves it with uvicorn and `api.lambda_handler` with Mangum.
OpenAPI is at /openapi.json and its pages at /docs."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import Engine

from api import errors, routes
from api.access import RateLimit
from api.state import AppState
from core.ses.gateway import SesGateway
from core.settings import Settings
from core.store.db import make_engine

DESCRIPTION = (
    "Ask Bounce Desk whether the product may mail an address, filter a campaign before "
    "sending, report that a user re-verified their address, and take the exclusion list. "
    "Send `Authorization: Bearer <token>` (`bouncedesk tokens create NAME --scope read|verify`)."
)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    gateway_factory: Callable[[], SesGateway] | None = None,
) -> FastAPI:
    """The API over `engine` (default: one from `settings.database_url`); SES from
    `gateway_factory` (default: `SesGateway.from_settings`), built only when a removal
    needs it."""
    app = FastAPI(title="Bounce Desk API", version="1", description=DESCRIPTION)
    app.state.bouncedesk = AppState(
        settings=settings,
        engine=engine or make_engine(settings.database_url),
        rate_limit=RateLimit(settings.api_rate_limit, settings.api_rate_window_seconds),
        gateway_factory=gateway_factory or (lambda: SesGateway.from_settings(settings)),
    )
    errors.install(app)
    app.include_router(routes.router)
    return app
