"""Errors shaped the way botocore parses them for SESv2 (restJson1).

botocore takes the error code from the ``x-amzn-ErrorType`` header and the message from the
JSON body's ``message``, and maps the code to ``client.exceptions.<Code>`` when the service
model declares it, so the status codes and names here follow botocore's sesv2 model.
"""

from __future__ import annotations

import json
import uuid

from werkzeug.wrappers import Response

# Status code per error name, as declared in botocore's sesv2 model (or AWS common errors).
ERROR_STATUS = {
    "BadRequestException": 400,
    "InvalidNextTokenException": 400,
    "LimitExceededException": 400,
    "NotFoundException": 404,
    "AlreadyExistsException": 400,
    "TooManyRequestsException": 429,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
}

# Which error an injected fault with a given status raises.
ERROR_FOR_STATUS = {
    400: "BadRequestException",
    404: "NotFoundException",
    429: "TooManyRequestsException",
    500: "InternalFailure",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    """An AWS-style error answer: HTTP status, error name and message."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else ERROR_STATUS[code]

    def to_response(self) -> Response:
        """The restJson1 error response botocore turns back into this exception."""
        return Response(
            json.dumps({"message": self.message}),
            status=self.status,
            headers={"x-amzn-ErrorType": self.code, "x-amzn-RequestId": new_request_id()},
            content_type="application/json",
        )


def bad_request(message: str) -> ApiError:
    return ApiError("BadRequestException", message)


def not_found(message: str) -> ApiError:
    return ApiError("NotFoundException", message)


def too_many_requests(message: str = "Rate exceeded") -> ApiError:
    return ApiError("TooManyRequestsException", message)


def new_request_id() -> str:
    return str(uuid.uuid4())


def json_response(body: object, status: int = 200) -> Response:
    """A successful restJson1 response with a request id, as AWS sends."""
    return Response(
        json.dumps(body),
        status=status,
        headers={"x-amzn-RequestId": new_request_id()},
        content_type="application/json",
    )
