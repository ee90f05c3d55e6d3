"""The endpoints. Each is a thin wrapper over one core function, like a CLI handler: the
token's actor acts, core checks the role and writes the audit entry."""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import text

from api.access import Caller, requires
from api.errors import ApiError
from api.schemas import (
    AddressOut,
    CheckIn,
    CheckOut,
    ErrorBody,
    Health,
    LastBounceOut,
    RemovalOutcome,
    SkipOut,
    SuppressionOut,
    VerifiedIn,
    VerifiedOut,
)
from api.state import app_state
from core.addresses import is_valid_address
from core.csv_safety import write_csv
from core.recipients.bulk import MAX_PAGE, check_recipients, exclusions_page
from core.recipients.confirmations import ConfirmOutcome
from core.recipients.lookup import address_report
from core.recipients.mailing import EXCLUSIONS_HEADER, ExcludedRow
from core.store.db import translated_errors
from core.suppression.reverify import Removal, record_reverification
from core.tokens import Scope

router = APIRouter(prefix="/v1")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no token, or an unknown or revoked one"},
    403: {"model": ErrorBody, "description": "the token lacks the scope"},
    422: {"model": ErrorBody, "description": "a bad address or body"},
    429: {"model": ErrorBody, "description": "the token's rate limit; see Retry-After"},
    503: {"model": ErrorBody, "description": "the database cannot be reached"},
}
Reader = Annotated[Caller, Depends(requires(Scope.READ))]
Verifier = Annotated[Caller, Depends(requires(Scope.VERIFY))]
Email = Annotated[
    str,
    Path(
        description="an email address",
        max_length=320,
        pattern=r"^[A-Za-z0-9.!#$%&'*+=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
    ),
]


def _valid(email: str) -> str:
    if not is_valid_address(email):
        raise ApiError(
            422, "invalid", "the path does not hold one email address", fields=["path.email"]
        )
    return email


@router.get(
    "/health",
    response_model=Health,
    responses={503: ERRORS[503]},
    summary="Is the API up and its database reachable? (no token needed)",
)
def health(request: Request) -> Health:
    with translated_errors(), app_state(request).engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return Health(status="ok", database="ok")


@router.get(
    "/addresses/{email}",
    response_model=AddressOut,
    responses=ERRORS,
    summary="May we mail this address, and should the user re-verify it? (read)",
)
def get_address(request: Request, email: Email, caller: Reader) -> AddressOut:
    state = app_state(request)
    report = address_report(state.engine, _valid(email), state.settings)
    return AddressOut(
        address=report.address,
        mailable=report.mailable,
        reasons=report.reasons,
        prompt_reverify=report.prompt_reverify,
        confirmed_valid_at=report.confirmed_valid_at,
        suppressed=SuppressionOut(reason=report.suppressed.reason, since=report.suppressed.since)
        if report.suppressed
        else None,
        last_bounce=LastBounceOut(
            type=report.last_bounce.bounce_type,
            subtype=report.last_bounce.subtype,
            diagnostic=report.last_bounce.diagnostic,
            at=report.last_bounce.at,
        )
        if report.last_bounce
        else None,
        last_complaint_at=report.last_complaint_at,
    )


@router.post(
    "/recipients/check",
    response_model=CheckOut,
    responses=ERRORS,
    summary="Which of a mailing's addresses must it skip? (read, audited)",
)
def check(request: Request, body: CheckIn, caller: Reader) -> CheckOut:
    state = app_state(request)
    result = check_recipients(state.engine, body.addresses, state.settings, actor=caller.actor)
    skip = [SkipOut(input=r.input, address=r.address, reasons=r.reasons) for r in result.skip]
    return CheckOut(checked=result.checked, skip_count=len(skip), skip=skip)


@router.post(
    "/addresses/{email}/verified",
    response_model=VerifiedOut,
    responses={**ERRORS, 502: {"model": ErrorBody, "description": "SES failed"}},
    summary="The user re-verified the address: confirm it, maybe remove it (verify, audited)",
)
def verified(request: Request, email: Email, body: VerifiedIn, caller: Verifier) -> VerifiedOut:
    state = app_state(request)
    result = record_reverification(
        state.engine,
        _valid(email),
        actor=caller.actor,
        method=body.method,
        note=body.note,
        remover=state.remover_factory(),
    )
    return VerifiedOut(
        address=result.address,
        confirmed=True,
        confirmation=(
            "already_confirmed"
            if result.confirmation is ConfirmOutcome.ALREADY_CONFIRMED
            else "confirmed"
        ),
        removal=REMOVALS[result.removal] if result.removal else None,
        removal_detail=result.removal_detail,
        removal_run_id=result.run_id,
    )


REMOVALS: dict[Removal, RemovalOutcome] = {
    Removal.REMOVED: "removed",
    Removal.NOT_ON_LIST: "not_on_list",
    Removal.NEEDS_ADMIN: "needs_admin",
    Removal.FAILED: "failed",
}
EXCLUSION_FORMATS = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


@router.get(
    "/exclusions",
    responses={
        **ERRORS,
        200: {
            "description": "one page of the exclusion list; X-Next-Cursor names the next",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        },
    },
    response_class=Response,
    summary="The whole exclusion list, a page at a time (read, audited)",
)
def exclusions(
    request: Request,
    caller: Reader,
    format: Annotated[Literal["ndjson", "csv"], Query()] = "ndjson",
    cursor: Annotated[str | None, Query(max_length=600)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> Response:
    state = app_state(request)
    page = exclusions_page(
        state.engine, state.settings, actor=caller.actor, after=_after(cursor), limit=limit
    )
    headers = {}
    if page.next_after is not None:
        headers["X-Next-Cursor"] = _cursor(page.next_after)
    body = _ndjson(page.rows) if format == "ndjson" else _csv(page.rows)
    return StreamingResponse(body, media_type=EXCLUSION_FORMATS[format], headers=headers)


def _cursor(address: str) -> str:
    return base64.urlsafe_b64encode(address.encode("utf-8")).decode("ascii").rstrip("=")


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        after = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        after = ""
    if not is_valid_address(after):
        raise ApiError(
            422, "invalid", "cursor is not one this API handed out", fields=["query.cursor"]
        )
    return after


def _ndjson(rows: list[ExcludedRow]) -> Iterator[bytes]:
    for row in rows:
        record = {
            "address": row.address,
            "reason": row.reason,
            "since": row.since.isoformat() if row.since else None,
        }
        yield (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def _csv(rows: list[ExcludedRow]) -> Iterator[bytes]:
    out = io.BytesIO()
    write_csv(((r.address, r.reason, r.since) for r in rows), EXCLUSIONS_HEADER, out, False)
    yield out.getvalue()
