"""Every error as JSON: ``{"error": {"code", "message", "fields"}}``, with the status the
issue names (401 no or unknown token, 403 wrong scope, 422 bad address or body, 429 with
Retry-After) and 502/503 when SES or the database cannot answer. Messages never contain
the request's raw text unescaped: they are JSON strings, and core quotes what it names."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    AwsCallFailed,
    AwsConfigurationError,
    InvalidInput,
    PermissionDenied,
    SesNotFound,
    StoreUnavailable,
)

log = logging.getLogger("bouncedesk.api")


class ApiError(Exception):
    """An answer other than success, raised anywhere in a request."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or []
        self.headers = dict(headers or {})


def error_response(error: ApiError) -> JSONResponse:
    body = {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


# Core's named errors and the answer each gets; the first match wins.
CORE_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (InvalidInput, 422, "invalid"),
    (PermissionDenied, 403, "forbidden"),
    (SesNotFound, 404, "not_found"),
    (StoreUnavailable, 503, "database_unavailable"),
    (AwsConfigurationError, 503, "ses_not_configured"),
    (AwsCallFailed, 502, "ses_failed"),
)

STATUS_CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the JSON error body."""

    @app.exception_handler(ApiError)
    def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        fields = [".".join(str(part) for part in p.get("loc", ())) for p in problems]
        first = problems[0] if problems else {}
        where = fields[0] if fields else "request"
        message = f"{where}: {first.get('msg', 'invalid')}"
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more)"
        return error_response(ApiError(422, "invalid", message, fields=fields))

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body FastAPI cannot parse (not UTF-8): a bad body
            return error_response(ApiError(422, "invalid", f"body: {exc.detail}", fields=["body"]))
        code = STATUS_CODES.get(exc.status_code, "error")
        return error_response(ApiError(exc.status_code, code, str(exc.detail), headers=exc.headers))

    def _core(request: Request, exc: Exception) -> JSONResponse:
        for kind, status, code in CORE_ERRORS:
            if isinstance(exc, kind):
                return error_response(ApiError(status, code, str(exc)))
        return _unexpected(request, exc)

    # Each named error gets its own handler, so it is answered without reaching the server
    # error middleware (which logs a traceback and re-raises).
    for kind, _, _ in CORE_ERRORS:
        app.add_exception_handler(kind, _core)

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return error_response(ApiError(500, "internal", "internal error; see the server log"))
