"""The `waha-campaigns` command: one subcommand per module, each with add_parser and run."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

# Each name is a module of this package: `add_parser(subparsers)` and `run(args) -> int`.
COMMAND_MODULES = (
    "simulate_waha",
    "serve",
    "init_db",
    "demo",
    "create",
    "client_commands",
    "edit",
    "retry",
    "session_commands",
    "opt_out_commands",
    "watch",
    "audit_commands",
    "verify",
    "projections",
    "export",
    "diagram",
)


class CommandModule(Protocol):
    """A subcommand's module."""

    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add the subcommand's parser; set `func` in its defaults to `run`."""
        ...


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="waha-campaigns",
        description="Send WhatsApp campaigns through WAHA, and audit them.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        module: CommandModule = importlib.import_module(f"adapters.cli.{name}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
