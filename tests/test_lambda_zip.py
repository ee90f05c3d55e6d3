"""The Lambda package (`make lambda-zip`): within Lambda's limits, without the dashboard's
libraries, and working on its own: unpacked into a clean venv with nothing else installed,
it migrates a database and stores a real SES bounce delivered as an SQS event."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import fixture_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))
import lambda_zip as builder  # noqa: E402  (deploy/lambda_zip.py: a script, not a package)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lambda-zip")]

SAMPLE = "ses_feedback_bounce_permanent_general_with_dsn_docs.json"
HANDLE = """
import importlib.util, json, sys
from core.ingest.lambda_handler import handler
event = json.load(sys.stdin)
print(json.dumps(handler(event)))
present = [m for m in ("streamlit", "pandas", "plotly", "emulator", "ui")
           if importlib.util.find_spec(m) is not None]
print(json.dumps(present))
"""


def measured(path: Path) -> builder.Package:
    with zipfile.ZipFile(path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return builder.Package(path, path.stat().st_size, unzipped)


def test_the_package_fits_lambdas_limits_and_a_smaller_limit_is_reported(
    lambda_zip: Path,
) -> None:
    package = measured(lambda_zip)
    assert builder.within_limits(package, builder.MAX_ZIPPED, builder.MAX_UNZIPPED) == []
    problems = builder.within_limits(package, package.zipped - 1, package.unzipped - 1)
    assert [p.split()[0] for p in problems] == ["zipped", "unzipped"]
    assert "MB zipped" in package.describe() and "250 MB unzipped" in package.describe()


def test_the_package_holds_core_and_its_migrations_but_no_dashboard_library(
    lambda_zip: Path,
) -> None:
    names = zipfile.ZipFile(lambda_zip).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {"core", "sqlalchemy", "alembic", "psycopg", "pymysql", "boto3"} <= tops
    assert not tops & {"streamlit", "pandas", "plotly", "ui", "pages", "emulator", "tests"}
    assert "core/ingest/lambda_handler.py" in names
    assert any(n.startswith("core/store/migrations/versions/0001") for n in names)
    assert not any("__pycache__" in n for n in names)


def test_unpacked_into_a_clean_venv_it_migrates_and_stores_a_real_bounce(
    lambda_zip: Path, tmp_path: Path
) -> None:
    task = tmp_path / "task"  # Lambda's /var/task
    zipfile.ZipFile(lambda_zip).extractall(task)
    venv.create(tmp_path / "venv", with_pip=False)
    python = str(tmp_path / "venv" / "bin" / "python")
    database = tmp_path / "bouncedesk.db"
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(task),
        "HOME": str(tmp_path),
        "BOUNCEDESK_DATABASE_URL": f"sqlite:///{database}",
    }
    upgraded = subprocess.run(
        [python, "-m", "core", "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True
    )
    assert upgraded.returncode == 0, upgraded.stderr.decode()
    body = fixture_bytes(SAMPLE).decode("utf-8")
    event = {
        "Records": [
            {
                "messageId": "0f3a7c44-0000-4000-8000-000000000001",
                "body": body,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bouncedesk",
            }
        ]
    }
    handled = subprocess.run(
        [python, "-c", HANDLE],
        input=json.dumps(event).encode(),
        env=env,
        cwd=tmp_path,
        capture_output=True,
    )
    assert handled.returncode == 0, handled.stderr.decode()
    result, present = (json.loads(line) for line in handled.stdout.decode().splitlines()[-2:])
    assert result == {"batchItemFailures": []}
    assert present == []
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT recipient, bounce_type FROM facts").fetchall()
    assert stored == [("jane@example.com", "Permanent")]
