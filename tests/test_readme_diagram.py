"""The README's state diagram is the one the transition table draws, so it cannot go stale."""

from __future__ import annotations

from pathlib import Path

from domain.lifecycle import mermaid_diagram

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- state-diagram:start -->"
END = "<!-- state-diagram:end -->"


def readme_diagram() -> str:
    text = README.read_text(encoding="utf-8")
    assert text.count(START) == 1
    assert text.count(END) == 1
    block = text.split(START, 1)[1].split(END, 1)[0]
    return block.strip("\n")


def test_the_readme_diagram_is_drawn_from_the_transition_table() -> None:
    expected = "```mermaid\n" + mermaid_diagram() + "```"

    assert readme_diagram() == expected, (
        "README.md's state diagram is stale: paste the output of "
        "domain.lifecycle.mermaid_diagram() between the state-diagram markers"
    )
