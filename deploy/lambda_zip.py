"""Build the Lambda package: `core` and requirements-core.txt, for Lambda's platform.

    python deploy/lambda_zip.py [--python 3.12] [--out build/lambda/bouncedesk-lambda.zip]

(`make lambda-zip`). The dependencies are manylinux wheels for the runtime's Python
(``--only-binary=:all:``, whatever this machine runs), so the zip built on a laptop runs in
Lambda. It prints the package's size and fails above Lambda's limits for a zip deployment:
50 MB zipped (direct upload) and 250 MB unzipped. The dashboard's libraries (streamlit,
pandas, plotly) never enter it: a build that finds one fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
MAX_ZIPPED = 50 * MB
MAX_UNZIPPED = 250 * MB
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64")
FORBIDDEN = ("streamlit", "pandas", "plotly")
# A fixed time for every entry, so the same inputs give the same zip (and the same hash).
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Package:
    path: Path
    zipped: int
    unzipped: int

    def describe(self) -> str:
        return (
            f"{self.path.name}: {self.zipped / MB:.1f} MB zipped, "
            f"{self.unzipped / MB:.1f} MB unzipped "
            f"(Lambda's limits: {MAX_ZIPPED // MB} MB zipped, {MAX_UNZIPPED // MB} MB unzipped)"
        )


def install_dependencies(target: Path, python: str) -> None:
    """requirements-core.txt (pinned by constraints.txt) into `target`, as Lambda wheels."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"]
    command += ["--target", str(target), "--implementation", "cp", "--python-version", python]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    command += ["--only-binary=:all:", "-r", str(ROOT / "requirements-core.txt")]
    command += ["-c", str(ROOT / "constraints.txt")]
    subprocess.run(command, check=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})


def copy_core(target: Path) -> None:
    """`core`'s modules and migration templates, as the wheel holds them."""
    for source in sorted((ROOT / "core").rglob("*")):
        if source.suffix in {".py", ".mako"} and "__pycache__" not in source.parts:
            destination = target / source.relative_to(ROOT)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)


def check_contents(target: Path) -> None:
    found = [name for name in FORBIDDEN if (target / name).exists()]
    if found:
        raise SystemExit(f"the Lambda package must not hold {', '.join(found)}")


def write_zip(source: Path, out: Path) -> Package:
    out.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    partial = out.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts:
                continue
            info = zipfile.ZipInfo(str(path.relative_to(source)), _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    partial.replace(out)
    return Package(out, out.stat().st_size, unzipped)


def build(out: Path, python: str) -> Package:
    staging = out.parent / "package"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    install_dependencies(staging, python)
    copy_core(staging)
    check_contents(staging)
    return write_zip(staging, out)


def within_limits(package: Package, max_zipped: int, max_unzipped: int) -> list[str]:
    """What is over a limit (empty when the package fits)."""
    problems = []
    if package.zipped > max_zipped:
        problems.append(f"zipped {package.zipped / MB:.1f} MB > {max_zipped / MB:.1f} MB")
    if package.unzipped > max_unzipped:
        problems.append(f"unzipped {package.unzipped / MB:.1f} MB > {max_unzipped / MB:.1f} MB")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=os.environ.get("LAMBDA_PYTHON", "3.12"))
    parser.add_argument("--out", type=Path, default=ROOT / "build/lambda/bouncedesk-lambda.zip")
    parser.add_argument("--max-zipped-bytes", type=int, default=MAX_ZIPPED)
    parser.add_argument("--max-unzipped-bytes", type=int, default=MAX_UNZIPPED)
    args = parser.parse_args(argv)
    package = build(args.out.resolve(), args.python)
    print(package.describe())
    problems = within_limits(package, args.max_zipped_bytes, args.max_unzipped_bytes)
    if problems:
        print(f"too large for Lambda: {'; '.join(problems)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
