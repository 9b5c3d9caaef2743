"""`diagram`: the campaign state machine as Mermaid text, drawn from the transition table."""

from __future__ import annotations

import argparse

from adapters.cli.arguments import ExitCode, Subparsers, add_command
from adapters.cli.output import reader_left
from domain.lifecycle import mermaid_diagram


def add_parser(subparsers: Subparsers) -> None:
    """Add `diagram`."""
    parser = add_command(
        subparsers,
        "diagram",
        summary="print the campaign state machine as Mermaid text",
        description="Print the states and commands of a campaign as a Mermaid state diagram.",
        exits={ExitCode.OK: "printed", ExitCode.USAGE: "usage error"},
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:  # noqa: ARG001 - every command takes its arguments
    """Print the diagram."""
    try:
        print(mermaid_diagram(), end="", flush=True)
    except BrokenPipeError:
        return reader_left()
    return ExitCode.OK
