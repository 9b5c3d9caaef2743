"""Varied texts: one of several texts per contact, and `{Hi|Hello|Hey}` alternatives inside one.

A brace group holding `|` is a choice: each contact gets one of its alternatives. Other brace
groups stay template fields (`{name}`), and doubled braces stay literal braces. Alternatives
are plain text: no braces inside. Every choice is drawn from a seed (the attempt's id), not
from a random source, so replaying a recorded attempt shows the very text it sent.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Final

from domain.errors import InvalidTemplateError

MAX_ALTERNATIVES: Final = 50

Piece = str | tuple[str, ...]  # literal format text, or the alternatives of one choice


@functools.lru_cache(maxsize=256)
def pieces(text: str) -> tuple[Piece, ...]:
    """Split `text` into literal format text and choices; braces that do not close stay literal.

    Literal pieces keep template fields and doubled braces as they are, for str.format.
    Cached: a campaign renders its few texts once per contact.
    """
    if "|" not in text:
        return (text,) if text else ()
    result: list[Piece] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in {"{{", "}}"}:
            literal.append(pair)
            i += 2
            continue
        if text[i] == "{":
            close = text.find("}", i + 1)
            inner = text[i + 1 : close] if close != -1 else ""
            if close != -1 and "|" in inner and "{" not in inner:
                if literal:
                    result.append("".join(literal))
                    literal = []
                result.append(tuple(inner.split("|")))
                i = close + 1
                continue
        literal.append(text[i])
        i += 1
    if literal:
        result.append("".join(literal))
    return tuple(result)


def has_choices(text: str) -> bool:
    """Whether `text` holds at least one `{a|b}` choice."""
    return any(isinstance(piece, tuple) for piece in pieces(text))


def without_choices(text: str) -> str:
    """Return `text` with every choice removed: what is left holds its template fields."""
    return "".join(piece for piece in pieces(text) if isinstance(piece, str))


def check_choices(text: str) -> None:
    """Raise InvalidTemplateError for a choice with too many alternatives."""
    for piece in pieces(text):
        if isinstance(piece, tuple) and len(piece) > MAX_ALTERNATIVES:
            raise InvalidTemplateError(
                f"a {{a|b}} choice has {len(piece)} alternatives; at most {MAX_ALTERNATIVES}"
            )


def draw(seed: str, label: str, count: int) -> int:
    """Return a number in [0, count) drawn from `seed` and `label`: the same every time."""
    digest = hashlib.sha256(f"{seed}\x00{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def chosen(texts: Sequence[str], seed: str) -> str:
    """Return one of `texts` with each of its choices made, for the attempt `seed`.

    The result is format text: its template fields are still to be filled.
    """
    text = texts[draw(seed, "text", len(texts))] if len(texts) > 1 else texts[0]
    parts = []
    for number, piece in enumerate(pieces(text)):
        if isinstance(piece, tuple):
            parts.append(_escaped(piece[draw(seed, f"choice {number}", len(piece))]))
        else:
            parts.append(piece)
    return "".join(parts)


def _escaped(alternative: str) -> str:
    # An alternative holds no braces by construction; escaped all the same for str.format.
    return alternative.replace("{", "{{").replace("}", "}}")
