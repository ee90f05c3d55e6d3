"""The database URL from an AWS Secrets Manager secret, fetched once per process.

A deployment keeps its database password out of its environment by naming a secret
(``database_secret_arn``, ``BOUNCEDESK_DATABASE_SECRET_ARN``) instead; the AWS SAM template
in ``deploy/`` does so for both functions. The secret's string is either

- the database URL itself (``postgresql+psycopg://user:password@host/db``), or
- a JSON object: ``{"url": "..."}``, or the shape RDS writes (``engine``, ``host``, ``port``,
  ``username``, ``password``, ``dbname``). An RDS-managed master secret holds only
  ``username`` and ``password``: the rest then comes from ``database_url``, which names the
  server without credentials (``postgresql+psycopg://db.example.internal:5432/bouncedesk``).

The secret is read once per process (per Lambda cold start) and kept in memory: a rotated
password reaches a running process when it restarts. Nothing here ever repeats the secret
or a piece of it in a message.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME (Secrets Manager appends -XXXXXX).
_SECRET_ARN = re.compile(
    r"arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+"
)
# RDS's "engine" values, and the driver each one means here.
_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "aurora-postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "aurora-mysql": "mysql+pymysql",
}
_SHAPE = (
    "the secret must hold a database URL, or JSON with a 'url', or RDS's fields "
    "(username, password, and engine/host/port/dbname unless database_url names the server)"
)


def check_secret_arn(arn: str) -> str:
    """The region of `arn`; ValueError unless it is a Secrets Manager secret ARN."""
    match = _SECRET_ARN.fullmatch(arn)
    if match is None:
        raise ValueError(
            "not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        )
    return match["region"]


def database_url_from_secret(arn: str, server_url: str | None = None) -> str:
    """The database URL the secret `arn` holds (see the module docstring), completed from
    `server_url` where the secret names only the credentials. Raises ValueError with a
    message that quotes nothing of the secret."""
    return url_from_secret_string(read_secret(arn), server_url)


@cache
def read_secret(arn: str) -> str:
    """The secret's string, fetched once per process (failures are not kept)."""
    region = check_secret_arn(arn)
    try:
        client = boto3.client("secretsmanager", region_name=region)
        answer = client.get_secret_value(SecretId=arn)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "an error")
        raise ValueError(
            f"Secrets Manager refused to read the database secret ({code}): the role needs "
            "secretsmanager:GetSecretValue on it (and kms:Decrypt on a customer-managed key)"
        ) from None
    except BotoCoreError as exc:
        raise ValueError(f"the database secret could not be read: {type(exc).__name__}") from None
    text = answer.get("SecretString")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the database secret holds no text (SecretString): " + _SHAPE)
    return text.strip()


def url_from_secret_string(text: str, server_url: str | None = None) -> str:
    """The URL in a secret's string, or built from its JSON fields."""
    if not text.startswith("{"):
        return text
    try:
        fields = json.loads(text)
    except ValueError:
        raise ValueError("the database secret is not valid JSON: " + _SHAPE) from None
    if not isinstance(fields, dict):
        raise ValueError(_SHAPE)
    if isinstance(fields.get("url"), str):
        return str(fields["url"])
    return _from_fields(fields, server_url)


def _from_fields(fields: dict[str, Any], server_url: str | None) -> str:
    if not isinstance(fields.get("username"), str) or not isinstance(fields.get("password"), str):
        raise ValueError(_SHAPE)
    base = _server(server_url)
    engine = fields.get("engine")
    if engine is not None and str(engine) not in _DRIVERS:
        raise ValueError(f"unknown engine in the database secret; known: {', '.join(_DRIVERS)}")
    driver = _DRIVERS[str(engine)] if engine is not None else base.drivername if base else None
    host = fields.get("host") or (base.host if base else None)
    if driver is None or host is None:
        raise ValueError(_SHAPE)
    port = fields.get("port") or (base.port if base else None)
    return URL.create(
        driver,
        username=fields["username"],
        password=fields["password"],
        host=str(host),
        port=int(port) if port is not None else None,
        database=str(fields.get("dbname") or (base.database if base else "") or "") or None,
        query=base.query if base else {},
    ).render_as_string(hide_password=False)


def _server(server_url: str | None) -> URL | None:
    """The server `database_url` names, when it names one (not SQLite's default file)."""
    if not server_url or server_url.startswith("sqlite"):
        return None
    try:
        return make_url(server_url)
    except (ArgumentError, ValueError):
        raise ValueError("database_url does not parse as the server to complete") from None
