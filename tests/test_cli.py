"""The command line's scaffolding: one parser, shared options, one error map, safe output."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.cli import db as cli_db
from core.cli.common import printable
from core.cli.main import build_parser, main
from core.errors import AwsConfigurationError, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def leaf_commands(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable command as (its words, its parser)."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield words, parser
    for group in groups:
        for name, child in group.choices.items():
            yield from leaf_commands(child, (*words, name))


def test_every_command_takes_the_database_url_after_its_name() -> None:
    commands = list(leaf_commands(build_parser()))
    assert len(commands) >= 20
    for words, parser in commands:
        option_strings = {s for action in parser._actions for s in action.option_strings}
        assert "--database-url" in option_strings, " ".join(words)
        assert parser.get_default("handler") is not None, " ".join(words)


def test_the_program_name_reads_as_it_was_typed() -> None:
    assert build_parser().prog == "bouncedesk"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOUNCEDESK_")}
    done = subprocess.run(
        [sys.executable, "-m", "core", "--help"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m core ")


class NoRegionHere(AwsConfigurationError):
    """A more precise configuration error (a subclass, as core may add)."""


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (NoRegionHere("no AWS region"), 2, "configuration error: no AWS region"),
        (SettingsError("invalid configuration: x"), 2, "error: invalid configuration: x"),
        (
            FileNotFoundError(2, "No such file", "x.csv"),
            1,
            "error: [Errno 2] No such file: 'x.csv'",
        ),
    ],
)
def test_errors_map_to_exit_codes_by_their_class_including_subclasses(
    error: Exception,
    code: int,
    line: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def failing(args: argparse.Namespace, settings: object) -> int:
        raise error

    monkeypatch.setattr(cli_db, "db_current", failing)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["db", "current", "--database-url", url]) == code
    assert capsys.readouterr().err == line + "\n"


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def failing(args: argparse.Namespace, settings: object) -> int:
        raise KeyError("bug")

    monkeypatch.setattr(cli_db, "db_current", failing)
    with pytest.raises(KeyError):
        main(["db", "current", "--database-url", f"sqlite:///{tmp_path / 'db.sqlite'}"])


def test_printable_escapes_controls_and_bidi_overrides_and_keeps_other_text() -> None:
    assert (
        printable("a\x1b[31mb\x00\t\n\x7f\x85\x9b") == "a\\x1b[31mb\\x00\\x09\\x0a\\x7f\\x85\\x9b"
    )
    assert printable("\u202a\u202e\u2066\u2069") == "\\u202a\\u202e\\u2066\\u2069"
    assert printable("山田 太郎 <taro@qube.co.jp> é\u200d") == "山田 太郎 <taro@qube.co.jp> é\u200d"
    assert printable(None) == "None"
