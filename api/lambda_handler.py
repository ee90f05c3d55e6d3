"""The API in AWS Lambda, behind a function URL or API Gateway (HTTP or REST): handler
name ``api.lambda_handler.handler``. The app is built on the first request of each
instance and kept for the next ones."""

from __future__ import annotations

from functools import cache
from typing import Any

from mangum import Mangum

from api.app import create_app
from core.settings import load_settings


@cache
def _adapter() -> Mangum:
    return Mangum(create_app(load_settings()), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = _adapter()(event, context)
    return response
