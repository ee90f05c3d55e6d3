"""The Lambda package (`make lambda-zip`): within Lambda's limits, without the dashboard's
libraries, and working on its own: unpacked into a clean venv with nothing else installed,
it migrates a database and stores a real SES bounce delivered as an SQS event."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from deploy_kit import load_template

from tests.conftest import build_lambda_zip, fixture_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))
import lambda_zip as builder  # noqa: E402  (deploy/lambda_zip.py: a script, not a package)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lambda-zip")]

SAMPLE = "ses_feedback_bounce_permanent_general_with_dsn_docs.json"
# The CLI imports every wing, so a wing whose library is missing from requirements-core.txt
# fails here; and the jobs function's handler, once core.jobs exists.
HANDLE = """
import importlib.util, json, sys
import core.cli.main
if importlib.util.find_spec("core.jobs") is not None:
    import core.jobs.lambda_handler
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


def find_python(version: str) -> str | None:
    """An interpreter of `version` ("3.12") on this machine (PATH, pyenv), or None."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(p) for p in sorted(pyenv.glob(f"{version}*/bin/python{version}"))]
    for candidate in filter(None, candidates):
        works = subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False)
        if works.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def runtime() -> tuple[str, str]:
    """The template's default Lambda runtime as (version, interpreter here)."""
    default = load_template()["Parameters"]["PythonRuntime"]["Default"]
    version = default.removeprefix("python")
    interpreter = find_python(version)
    if interpreter is None:
        pytest.skip(f"no Python {version} here to run the {default} package in")
    return version, interpreter


@pytest.fixture(scope="module")
def runtime_zip(runtime: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runtime-lambda") / "bouncedesk-lambda.zip"
    return build_lambda_zip(out, runtime[0])


def test_unpacked_into_a_clean_venv_it_migrates_and_stores_a_real_bounce(
    lambda_zip: Path, tmp_path: Path
) -> None:
    venv.create(tmp_path / "venv", with_pip=False)
    check_package_alone(lambda_zip, str(tmp_path / "venv" / "bin" / "python"), tmp_path)


def test_built_for_the_templates_default_runtime_it_works_there_too(
    runtime: tuple[str, str], runtime_zip: Path, tmp_path: Path
) -> None:
    """The zip `make lambda-zip` makes by default (manylinux wheels for the template's
    Python, not this interpreter's), in a clean venv of that Python."""
    subprocess.run([runtime[1], "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    check_package_alone(runtime_zip, str(tmp_path / "venv" / "bin" / "python"), tmp_path)


def check_package_alone(package: Path, python: str, tmp_path: Path) -> None:
    """Unpacked as Lambda does (/var/task on sys.path) and run by a venv with nothing
    installed: the schema migrates and an SQS event with a real bounce is stored."""
    task = tmp_path / "task"  # Lambda's /var/task
    zipfile.ZipFile(package).extractall(task)
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
