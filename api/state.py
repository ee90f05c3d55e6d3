"""What the app holds for its lifetime: settings, the database, SES and the rate limit,
built once by `api.app.create_app` and read by each request from ``app.state``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import Engine

from core.ses.gateway import SesGateway
from core.settings import Settings
from core.suppression.removal import Remover

if TYPE_CHECKING:
    from api.access import RateLimit


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    rate_limit: RateLimit
    # SES is only needed for removals on re-verification: built on first use.
    gateway_factory: Callable[[], SesGateway]
    _gateway: SesGateway | None = field(default=None, init=False)

    def remover_factory(self) -> Callable[[], Remover] | None:
        """How to build the removal service when `auto_remove_on_reverify` is on (SES is
        reached only once a removal needs it), else None."""
        if not self.settings.auto_remove_on_reverify:
            return None
        return self._remover

    def _remover(self) -> Remover:
        if self._gateway is None:
            self._gateway = self.gateway_factory()
        return Remover.from_settings(self.settings, self.engine, self._gateway)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.bouncedesk
    return state
