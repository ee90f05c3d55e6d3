"""``python -m emulator serve``: the SES emulator + moto on one loopback port.

A thin wrapper over :func:`emulator.launch.boot`; see ``--help``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from emulator.launch import DEFAULT_DATA_DIR, SEEDS, boot, write_ready_file
from emulator.server import NonLoopbackHostError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Local SES emulator (development tool, not AWS)."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the emulator and moto on one port")
    serve.add_argument("--host", default="127.0.0.1", help="only 127.0.0.1/localhost allowed")
    serve.add_argument("--port", type=int, default=4599, help="0 picks a free port")
    serve.add_argument("--seed", choices=SEEDS, default="demo")
    serve.add_argument(
        "--request-rate",
        type=float,
        default=1.0,
        help="SESv2 suppression/import calls per second before 429 (0 = unlimited)",
    )
    serve.add_argument("--ready-file", type=Path, help="JSON written once ready")
    serve.add_argument("--users-csv", type=Path, default=DEFAULT_DATA_DIR / "users.csv")
    serve.add_argument("--known-valid-csv", type=Path, help="default: beside --users-csv")
    serve.add_argument("--trickle-interval", type=float, default=5.0, help="seconds")
    serve.add_argument("--no-trickle", action="store_true", help="no live notifications")
    serve.add_argument("--import-delay", type=float, default=1.0, help="import job step delay")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def serve(args: argparse.Namespace) -> int:
    # Handlers first: a launcher may send SIGTERM as soon as it reads the ready file.
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        handle = boot(
            seed=args.seed,
            host=args.host,
            port=args.port,
            request_rate=args.request_rate or None,
            users_csv=args.users_csv,
            known_valid_csv=args.known_valid_csv,
            trickle_interval=None if args.no_trickle else args.trickle_interval,
            import_delay=args.import_delay,
            verbose=args.verbose,
        )
    except NonLoopbackHostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.ready_file:
        write_ready_file(args.ready_file, handle)
    print(f"ready: {handle.endpoint_url} queue={handle.queue_url}", file=sys.stderr, flush=True)
    while not stopping.wait(0.5):
        pass
    handle.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
