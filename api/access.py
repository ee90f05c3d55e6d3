"""Who is calling: the bearer token, its scope, and its rate limit.

Every request but the health check names a token (``Authorization: Bearer bd_...``);
`core.tokens.authenticate` finds it and compares it in constant time. A token may make
`api_rate_limit` requests per `api_rate_window_seconds` (a moving window, counted by the
`limits` library in this process's memory: each process, and each Lambda instance, counts
on its own).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.errors import ApiError
from api.state import AppState, app_state
from core.access import Actor
from core.tokens import Scope, TokenInfo, authenticate

bearer = HTTPBearer(auto_error=False, description="an API token: `bouncedesk tokens create`")


@dataclass(frozen=True)
class Caller:
    token: TokenInfo
    actor: Actor


class RateLimit:
    """`amount` requests per `seconds` per token."""

    def __init__(self, amount: int, seconds: int) -> None:
        self.item = RateLimitItemPerSecond(amount, seconds)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, key: str) -> None:
        """Count one request; ApiError 429 with Retry-After once the window is full."""
        if self.limiter.hit(self.item, key):
            return
        stats = self.limiter.get_window_stats(self.item, key)
        retry = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(
            429,
            "rate_limited",
            f"this token made more than {self.item.amount} requests in "
            f"{self.item.get_expiry()} seconds; retry after {retry} s",
            headers={"Retry-After": str(retry)},
        )


def requires(scope: Scope) -> Callable[..., Caller]:
    """A dependency: the calling token, which must allow `scope`."""

    def caller(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        state: AppState = app_state(request)
        if credentials is None:
            raise ApiError(
                401,
                "unauthorized",
                "no API token: send Authorization: Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token = authenticate(state.engine, credentials.credentials)
        if token is None:
            raise ApiError(
                401,
                "unauthorized",
                "the API token is unknown or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        state.rate_limit.hit(token.key_id)
        if not token.allows(scope):
            raise ApiError(
                403,
                "forbidden",
                f"this endpoint needs a token with the {scope} scope "
                f"(token {token.name!r} has {token.scope})",
            )
        return Caller(token, token.actor(state.settings.access_contact))

    return caller
