"""The campaign's state diagram as inline SVG, drawn on the server from the transition table.

Nodes are the CampaignStatus values, edges the table's transitions (a command that keeps the
status, the runner's bookkeeping, is named in the node's tooltip instead of drawn). Known
states sit where a person expects them; a state added later gets a place on a row below, so
the drawing never lies about the table.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

from domain.lifecycle import TRANSITIONS, CampaignStatus

_WIDTH: Final = 600
_ROW: Final = 90
_NODE_W: Final = 112
_NODE_H: Final = 36
_GAP: Final = 6  # between an arrow's tip and the node it points at
# The happy path across the top; a pause below the run it interrupts; the end for good below
# both, so that no two arrows cross.
_PLACES: Final[dict[str, tuple[float, float]]] = {
    CampaignStatus.SCHEDULED.value: (80.0, 40.0),
    CampaignStatus.RUNNING.value: (300.0, 40.0),
    CampaignStatus.COMPLETED.value: (520.0, 40.0),
    CampaignStatus.PAUSED.value: (300.0, 130.0),
    CampaignStatus.CANCELLED.value: (300.0, 220.0),
}
# How far an arrow bows out to miss a node in its way (negative: to the right of its travel).
_BENDS: Final = (0.0, -150.0, 150.0, -240.0, 240.0)
_PAIR_OFFSET: Final = 14.0
_LABEL_OFFSET: Final = 8.0


@dataclass(frozen=True)
class Edge:
    """One drawn transition: the command, and from where to where."""

    trigger: str
    source: str
    dest: str


def edges() -> list[Edge]:
    """Return the table's transitions that change the status, one per source, in table order."""
    found: list[Edge] = []
    for transition in TRANSITIONS:
        sources = transition["source"]
        listed = [sources] if isinstance(sources, str) else list(sources)  # type: ignore[call-overload]
        dest = str(transition["dest"])
        found.extend(
            Edge(str(transition["trigger"]), str(s), dest) for s in listed if str(s) != dest
        )
    return found


def _loops() -> dict[str, list[str]]:
    loops: dict[str, list[str]] = {}
    for transition in TRANSITIONS:
        sources = transition["source"]
        if isinstance(sources, str) and sources == transition["dest"]:
            loops.setdefault(sources, []).append(str(transition["trigger"]))
    return loops


def _places() -> dict[str, tuple[float, float]]:
    places: dict[str, tuple[float, float]] = {
        s.value: _PLACES[s.value] for s in CampaignStatus if s.value in _PLACES
    }
    extra = [s.value for s in CampaignStatus if s.value not in _PLACES]
    for position, name in enumerate(extra):
        x = 80.0 + position * 150.0
        places[name] = (x % (_WIDTH - 40), 220.0 + _ROW * (1 + position // 4))
    return places


def _inside(point: tuple[float, float], centre: tuple[float, float], margin: float = 4.0) -> bool:
    return (
        abs(point[0] - centre[0]) < _NODE_W / 2 + margin
        and abs(point[1] - centre[1]) < _NODE_H / 2 + margin
    )


def _curve_point(
    start: tuple[float, float], control: tuple[float, float], end: tuple[float, float], t: float
) -> tuple[float, float]:
    a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t**2
    return (
        a * start[0] + b * control[0] + c * end[0],
        a * start[1] + b * control[1] + c * end[1],
    )


def _control(
    start: tuple[float, float], end: tuple[float, float], others: list[tuple[float, float]]
) -> tuple[float, float]:
    """Return the curve's control point: straight if that misses every other node, else bent."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy) or 1.0
    normal = (-dy / length, dx / length)
    middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    for bend in _BENDS:
        control = (middle[0] + normal[0] * bend, middle[1] + normal[1] * bend)
        samples = [_curve_point(start, control, end, step / 20) for step in range(1, 20)]
        if not any(_inside(p, o) for p in samples for o in others):
            return control
    return middle


def _clip(centre: tuple[float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Return where the line from `centre` to `toward` leaves the node's box (plus a gap)."""
    dx, dy = toward[0] - centre[0], toward[1] - centre[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    reach = min(
        (_NODE_W / 2) / abs(ux) if ux else math.inf, (_NODE_H / 2) / abs(uy) if uy else math.inf
    )
    return centre[0] + ux * (reach + _GAP), centre[1] + uy * (reach + _GAP)


def _shifted(
    point: tuple[float, float], other: tuple[float, float], by: float
) -> tuple[float, float]:
    """Return `point` moved sideways (to the right of the way to `other`) by `by`."""
    dx, dy = other[0] - point[0], other[1] - point[1]
    length = math.hypot(dx, dy) or 1.0
    return point[0] - dy / length * by, point[1] + dx / length * by


def _label_place(
    middle: tuple[float, float],
    source: tuple[float, float],
    dest: tuple[float, float],
    paired: bool,
) -> tuple[str, tuple[float, float]]:
    """Return a label's anchor and place: above its arrow, or beside it, away from its twin."""
    if not paired:
        return "middle", (middle[0], middle[1] - 4)
    side = _shifted((0.0, 0.0), (dest[0] - source[0], dest[1] - source[1]), 1.0)
    x, y = middle[0] + side[0] * _LABEL_OFFSET, middle[1] + side[1] * _LABEL_OFFSET + 4
    if side[0] > 0.5:  # noqa: PLR2004 - mostly sideways
        return "start", (x, y)
    if side[0] < -0.5:  # noqa: PLR2004 - mostly sideways
        return "end", (x, y)
    return "middle", (x, y)


def _edge_svg(edge: Edge, places: dict[str, tuple[float, float]], paired: bool) -> str:
    start, end = places[edge.source], places[edge.dest]
    if paired:  # a command each way between two states: two parallel arrows
        start, end = _shifted(start, end, _PAIR_OFFSET), _shifted(end, start, -_PAIR_OFFSET)
    others = [p for name, p in places.items() if name not in {edge.source, edge.dest}]
    control = _control(start, end, others)
    tail, tip = _clip(start, control), _clip(end, control)
    label = _curve_point(tail, control, tip, 0.5)
    anchor, label = _label_place(label, places[edge.source], places[edge.dest], paired)
    return (
        f'<g class="edge" data-trigger="{escape(edge.trigger)}" data-from="{escape(edge.source)}"'
        f' data-to="{escape(edge.dest)}">'
        f'<path d="M{tail[0]:.1f},{tail[1]:.1f} Q{control[0]:.1f},{control[1]:.1f} '
        f'{tip[0]:.1f},{tip[1]:.1f}" fill="none" marker-end="url(#console-arrow)"/>'
        f'<text x="{label[0]:.1f}" y="{label[1]:.1f}" text-anchor="{anchor}">'
        f"{escape(edge.trigger)}</text></g>"
    )


def _node_svg(name: str, centre: tuple[float, float], current: bool, loops: list[str]) -> str:
    x, y = centre[0] - _NODE_W / 2, centre[1] - _NODE_H / 2
    kind = "state current" if current else "state"
    tooltip = escape(name) + (escape(" (also allows: " + ", ".join(loops) + ")") if loops else "")
    return (
        f'<g class="{kind}" data-state="{escape(name)}"><title>{tooltip}</title>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{_NODE_W}" height="{_NODE_H}" rx="8"/>'
        f'<text x="{centre[0]:.1f}" y="{centre[1] + 5:.1f}" text-anchor="middle">'
        f"{escape(name)}</text></g>"
    )


@functools.cache
def state_diagram(current: str) -> Markup:
    """Return the diagram as an inline <svg>, with the `current` state highlighted."""
    places = _places()
    drawn = edges()
    pairs = {(e.source, e.dest) for e in drawn}
    loops = _loops()
    height = max(y for _, y in places.values()) + _NODE_H
    parts = [
        (
            f'<svg class="state-diagram" viewBox="0 0 {_WIDTH} {height:.0f}" role="img" '
            'aria-labelledby="state-diagram-title">'
        ),
        (
            '<title id="state-diagram-title">Campaign states; this campaign is '
            f"{escape(current)}</title>"
        ),
        (
            '<defs><marker id="console-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
        ),
    ]
    parts.extend(_edge_svg(e, places, (e.dest, e.source) in pairs) for e in drawn)
    parts.extend(
        _node_svg(name, centre, name == current, loops.get(name, []))
        for name, centre in places.items()
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value in it is escaped above
