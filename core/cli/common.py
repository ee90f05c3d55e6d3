"""What every command shares: the handler signature, the shared options, the one map from
errors to exit codes, output to a file or standard output, and text made safe to print.

A command is registered with `add_command`, which gives it the shared options and its
handler; `core.cli.main` loads the settings and calls ``handler(args, settings)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from sqlalchemy import Engine

from core.access import Actor, cli_actor
from core.errors import AwsConfigurationError, BounceDeskError, PermissionDenied, SettingsError
from core.ses.gateway import SesGateway
from core.settings import Settings
from core.store.db import make_engine
from core.suppression.removal import Remover

Handler = Callable[[argparse.Namespace, Settings], int]
if TYPE_CHECKING:  # argparse's class is generic only in the stubs
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Commands = argparse._SubParsersAction

DATABASE_HELP = "override the database setting (BOUNCEDESK_DATABASE_URL)"


def shared_options() -> argparse.ArgumentParser:
    """The parent parser of the top level and of every command."""
    parent = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an absent option must not overwrite `bouncedesk --database-url X COMMAND`.
    parent.add_argument("--database-url", default=argparse.SUPPRESS, help=DATABASE_HELP)
    return parent


def add_command(
    commands: Commands, name: str, handler: Handler, text: str, *, output: bool = False
) -> argparse.ArgumentParser:
    """A command `name` in the group `commands`, with the shared options (and `-o FILE`
    when it writes a file) and `handler` to run it."""
    command: argparse.ArgumentParser = commands.add_parser(
        name, parents=[shared_options()], help=text, description=text
    )
    if output:
        command.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    command.set_defaults(handler=handler)
    return command


def add_group(commands: Commands, name: str, text: str) -> Commands:
    """A command with sub-commands (`bouncedesk NAME SUB ...`)."""
    group = commands.add_parser(name, help=text, description=text)
    return group.add_subparsers(dest=f"{name.replace('-', '_')}_command", required=True)


# --- Errors -------------------------------------------------------------------------------


class ExitCode(NamedTuple):
    kind: type[BaseException]
    code: int
    label: str


# The first match wins: subclasses before their bases.
EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(SettingsError, 2, "error"),
    ExitCode(AwsConfigurationError, 2, "configuration error"),
    ExitCode(PermissionDenied, 1, "error"),
    ExitCode(BounceDeskError, 1, "error"),
    ExitCode(OSError, 1, "error"),  # a file named on the command line cannot be read or written
)


def report_error(exc: BaseException) -> int | None:
    """Print `exc` as one `label: message` on stderr and return its exit code; None for an
    error that is not ours to report (a bug keeps its traceback)."""
    for entry in EXIT_CODES:
        if isinstance(exc, entry.kind):
            message = "\n".join(printable(line) for line in str(exc).splitlines())
            print(f"{entry.label}: {message}", file=sys.stderr)
            return entry.code
    return None


# --- Output -------------------------------------------------------------------------------


@contextmanager
def open_output(path: str | Path | None) -> Iterator[BinaryIO]:
    """The file at `path` (created or replaced), or standard output when `path` is None."""
    if path is not None:
        with open(path, "wb") as out:
            yield out
        return
    sys.stdout.flush()  # text printed before must come out before these bytes
    yield sys.stdout.buffer
    sys.stdout.buffer.flush()


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


# C0 and C1 controls (ESC among them), DEL, and the bidi embeddings, overrides and isolates
# that reorder what follows: a file name or an actor must not move the cursor, retitle the
# terminal or make a line read backwards.
_UNPRINTABLE = [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _UNPRINTABLE}


def printable(value: object) -> str:
    """`value` as text safe to print on a terminal: controls become visible escapes
    (ESC as ``\\x1b``, U+202E as ``\\u202e``). For every untrusted field in a list or table."""
    return str(value).translate(_ESCAPES)


# --- Commands that talk to SES ------------------------------------------------------------


@dataclass
class SesContext:
    """What a command that talks to SES uses: the settings, the database, the acting person,
    the gateway and the removal service."""

    settings: Settings
    engine: Engine

    @property
    def actor(self) -> Actor:
        return cli_actor(self.settings)

    def gateway(self) -> SesGateway:
        return SesGateway.from_settings(self.settings)

    def remover(self) -> Remover:
        return Remover.from_settings(self.settings, self.engine, self.gateway())


@contextmanager
def ses_context(settings: Settings) -> Iterator[SesContext]:
    engine = make_engine(settings.database_url)
    try:
        yield SesContext(settings, engine)
    finally:
        engine.dispose()
