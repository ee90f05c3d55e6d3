"""schemathesis against the API's own OpenAPI schema: generated requests (bounded, a few
dozen per operation) never get a 5xx, and every response matches the schema: its status,
content type, headers and body."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from core.settings import Settings
from core.store.db import make_engine
from core.tokens import Scope, create_token
from tests.factories import ADMIN, ingest, make_bounce, make_complaint

# Built at import: schemathesis reads the schema when the module is collected.
_DIRECTORY = Path(tempfile.mkdtemp(prefix="bouncedesk-schema-"))
_ENGINE = make_engine(f"sqlite:///{_DIRECTORY / 'api.db'}")
ingest(_ENGINE, make_bounce(["hard@example.com"]), make_complaint(["angry@example.com"]))
_TOKEN = create_token(_ENGINE, "schemathesis", Scope.VERIFY, actor=ADMIN).token
APP = create_app(Settings(actor="tester", api_rate_limit=1_000_000), engine=_ENGINE)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_to_its_own_schema(case: schemathesis.Case) -> None:
    # Every default check but "schema-valid data is accepted": a schema cannot say all that
    # makes an email address valid (a 64-character DNS label passes the pattern), and a
    # 422 for it is the right answer.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_TOKEN}"},
        excluded_checks=[positive_data_acceptance],
    )
