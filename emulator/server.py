"""The combined server: emulator + moto on one loopback port, werkzeug's threaded server.

It only binds to loopback: the emulator has no authentication and holds made-up data, and a
development tool listening on a public interface is how such tools end up on the internet.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

from moto.server import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server

from emulator.admin_app import AdminApp
from emulator.clients import make_client
from emulator.dispatch import Dispatcher, make_moto_app
from emulator.import_jobs import ImportJobRunner
from emulator.ses_v1_app import SesV1App
from emulator.sesv2_app import Sesv2App
from emulator.state import EmulatorState

LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1"}
BANNER = (
    "Bounce Desk SES emulator at {url}: a DEVELOPMENT EMULATOR, not AWS. "
    "Its data is made up; nothing is sent. Serves sesv2 suppression/import/account, "
    "ses GetSendStatistics, and moto (s3, sqs, sns, cloudwatch, ...)."
)


class NonLoopbackHostError(ValueError):
    """The emulator was asked to listen on something other than 127.0.0.1."""


def loopback_host(host: str) -> str:
    """The address to bind for ``host``; anything but loopback is refused."""
    if host not in LOOPBACK_HOSTS:
        raise NonLoopbackHostError(
            f"Refusing to listen on {host!r}: the SES emulator is a development tool without "
            "authentication and only listens on 127.0.0.1 (use --host 127.0.0.1)."
        )
    return LOOPBACK_HOSTS[host]


class _RequestHandler(MotoRequestHandler):
    """moto's handler (it keeps S3 header underscores), silent unless verbose."""

    verbose = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.verbose:
            super().log_request(code, size)


class EmulatorServer:
    """Bind at construction (port 0 = a free port), serve on a thread after :meth:`start`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        request_rate: float | None = None,
        import_delay: float = 0.2,
        verbose: bool = False,
    ) -> None:
        address = loopback_host(host)
        self.state = EmulatorState(request_rate)
        self.jobs = ImportJobRunner(self.state, self._s3, delay=import_delay)
        app = Dispatcher(
            sesv2=Sesv2App(self.state, self.jobs),
            ses_v1=SesV1App(self.state),
            admin=AdminApp(self.state),
            moto=make_moto_app(),
        )
        handler = type("RequestHandler", (_RequestHandler,), {"verbose": verbose})
        self._server: BaseWSGIServer = make_server(
            address, port, app, threaded=True, request_handler=handler
        )
        self.port = self._server.server_port
        self.endpoint_url = f"http://{address}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self, banner: bool = True) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ses-emulator", daemon=True
        )
        self._thread.start()
        if banner:
            print(BANNER.format(url=self.endpoint_url), file=sys.stderr, flush=True)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def client(self, service: str, retries: int | None = None) -> Any:
        """A boto3 client for this server (fake credentials, us-east-1)."""
        return make_client(service, self.endpoint_url, retries)

    @functools.cached_property
    def _s3_client(self) -> Any:
        return self.client("s3")

    def _s3(self) -> Any:
        return self._s3_client
