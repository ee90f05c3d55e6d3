"""The request and response bodies, as the OpenAPI schema at /openapi.json describes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

MAX_CHECK = 10_000


class ErrorDetail(BaseModel):
    code: str = Field(description="a stable word: unauthorized, forbidden, invalid, ...")
    message: str = Field(description="what went wrong, in words")
    fields: list[str] = Field(default_factory=list, description="the request parts at fault")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class SuppressionOut(BaseModel):
    reason: str = Field(description="BOUNCE or COMPLAINT, as SES lists it")
    since: datetime | None


class LastBounceOut(BaseModel):
    type: str | None = Field(description="Permanent, Transient or Undetermined")
    subtype: str | None
    diagnostic: str | None
    at: datetime


class AddressOut(BaseModel):
    address: str = Field(description="the address as Bounce Desk matches it (domain lowercased)")
    mailable: bool = Field(description="whether bulk mail may go to it")
    reasons: list[str] = Field(description="why, in the Mailing exclusions page's words")
    prompt_reverify: bool = Field(
        description="ask the user to change or re-verify the address at their next login"
    )
    confirmed_valid_at: datetime | None
    suppressed: SuppressionOut | None
    last_bounce: LastBounceOut | None
    last_complaint_at: datetime | None


class CheckIn(BaseModel):
    addresses: list[str] = Field(
        max_length=MAX_CHECK, description=f"up to {MAX_CHECK:,} addresses of one mailing"
    )


class SkipOut(BaseModel):
    input: str = Field(description="the address as it was sent")
    address: str | None = Field(description="as Bounce Desk matches it; null when invalid")
    reasons: list[str]


class CheckOut(BaseModel):
    checked: int = Field(description="addresses received")
    skip_count: int
    skip: list[SkipOut] = Field(description="the addresses the mailing must leave out")


RemovalOutcome = Literal["removed", "not_on_list", "needs_admin", "failed"]


class VerifiedIn(BaseModel):
    method: str = Field(
        min_length=1, max_length=64, description="how the user re-verified (e.g. email_link)"
    )
    note: str = Field(default="", max_length=2000)


class VerifiedOut(BaseModel):
    address: str
    confirmed: bool = Field(description="the address is confirmed valid from now on")
    confirmation: Literal["confirmed", "already_confirmed"]
    removal: RemovalOutcome | None = Field(
        description="what happened on the SES suppression list; null when nothing was tried"
    )
    removal_detail: str
    removal_run_id: int | None
