"""One WSGI app for one port: our operations to the emulator, everything else to moto.

A client then needs only ``AWS_ENDPOINT_URL`` for sesv2, ses, s3, sqs, sns and cloudwatch.
The SES v1 actions are told apart from SQS/SNS form posts by the SigV4 credential scope
(service ``ses``) and then by the form's ``Action``; the body read for that is put back so
moto still sees it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from emulator.admin_app import PREFIX as ADMIN_PREFIX
from emulator.ses_v1_app import ACTIONS as SES_V1_ACTIONS
from emulator.ses_v1_app import form_action
from emulator.sesv2_app import raw_path, serves_path

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_moto_app() -> WsgiApp:
    """moto's own server app, built as ``moto.server.ThreadedMotoServer`` builds it."""
    from moto.server import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


class Dispatcher:
    """Route each request to the admin app, the SESv2 app, the SES v1 app or moto."""

    def __init__(self, sesv2: WsgiApp, ses_v1: WsgiApp, admin: WsgiApp, moto: WsgiApp) -> None:
        self.sesv2 = sesv2
        self.ses_v1 = ses_v1
        self.admin = admin
        self.moto = moto

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.choose(environ)(environ, start_response)

    def choose(self, environ: dict[str, Any]) -> WsgiApp:
        path = raw_path(environ)
        if path.startswith(ADMIN_PREFIX):
            return self.admin
        if path.startswith("/v2/email/") and serves_path(path):
            return self.sesv2
        if _is_ses_v1_action(environ):
            return self.ses_v1
        return self.moto


def _signing_service(environ: dict[str, Any]) -> str | None:
    """The service in a SigV4 ``Authorization`` credential scope (``.../region/ses/...``)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3]
    except IndexError:
        return None


def _is_ses_v1_action(environ: dict[str, Any]) -> bool:
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") not in ("/", ""):
        return False
    if _signing_service(environ) != "ses":
        return False
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return form_action(body) in SES_V1_ACTIONS
