"""The police force areas as a hexagon cartogram: one hexagon per force, roughly where it lies.

Boundary files are heavy, and the forces differ a hundredfold in size, so on a true map the City of
London or Cleveland would vanish beside Police Scotland; a cartogram gives each the same hexagon. The
layout is data (`data/force_hexes.json`, which says how it was made); this module checks it against
the area registry and draws it as inline SVG on the server: each hexagon a link to the area's page,
named by the area and its risk level, showing the level's number as well as its colour.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

from services.assessment.plain import LEVEL_STYLES
from shared.areas import AreaRegistry

LAYOUT_PATH = Path(__file__).parent / "data" / "force_hexes.json"
RADIUS = 30.0
WIDTH = math.sqrt(3) * RADIUS  # of a pointy-top hexagon, side to side
MARGIN = 3.0


@dataclass(frozen=True)
class ForceHex:
    area: str
    label: str
    row: int
    col: int

    def centre(self) -> tuple[float, float]:
        """Odd rows sit half a hexagon to the right ("odd-r" offset coordinates)."""
        x = MARGIN + WIDTH / 2 + self.col * WIDTH + (WIDTH / 2 if self.row % 2 else 0.0)
        return x, MARGIN + RADIUS + self.row * 1.5 * RADIUS

    def points(self) -> str:
        x, y = self.centre()
        corners = (math.radians(-90 + 60 * i) for i in range(6))
        return " ".join(f"{x + RADIUS * math.cos(a):.1f},{y + RADIUS * math.sin(a):.1f}" for a in corners)


@dataclass(frozen=True)
class HexLayout:
    source: str
    hexes: tuple[ForceHex, ...]

    def size(self) -> tuple[float, float]:
        right = max(h.centre()[0] for h in self.hexes) + WIDTH / 2 + MARGIN
        bottom = max(h.centre()[1] for h in self.hexes) + RADIUS + MARGIN
        return right, bottom

    def problems(self, registry: AreaRegistry) -> list[str]:
        """What is wrong with the layout for these areas: each force exactly once, one per cell."""
        counts = Counter(h.area for h in self.hexes)
        wanted = {a.code for a in registry.all()}
        found = [f"{code} has {n} hexagons" for code, n in sorted(counts.items()) if n > 1]
        found += [f"{code} has no hexagon" for code in sorted(wanted - set(counts))]
        found += [f"{code} is not a force area" for code in sorted(set(counts) - wanted)]
        cells = Counter((h.row, h.col) for h in self.hexes)
        found += [f"row {r}, column {c} holds {n} hexagons" for (r, c), n in sorted(cells.items()) if n > 1]
        return found


def load_layout(path: Path = LAYOUT_PATH) -> HexLayout:
    document = json.loads(path.read_text(encoding="utf-8"))
    return HexLayout(str(document["source"]), tuple(
        ForceHex(str(h["area"]), str(h["label"]), int(h["row"]), int(h["col"])) for h in document["hexes"]))


@lru_cache(maxsize=1)
def default_layout() -> HexLayout:
    return load_layout()


@dataclass(frozen=True)
class MapArea:
    """What one hexagon shows and where it leads."""

    name: str
    level: str
    href: str


def map_svg(layout: HexLayout, areas: Mapping[str, MapArea], labelled_by: str) -> Markup:
    """The map as inline SVG: a group of links, each hexagon named "<area>: <level> risk"."""
    width, height = layout.size()
    cells = "".join(_cell(h, areas[h.area]) for h in layout.hexes if h.area in areas)
    return Markup(  # noqa: S704 -- every value in the markup is escaped or a number
        f'<svg class="analysis-map__svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="group" aria-labelledby="{escape(labelled_by)}">{cells}</svg>')


def _cell(h: ForceHex, area: MapArea) -> str:
    style = LEVEL_STYLES[area.level]
    name = escape(f"{area.name}: {style.word} risk")
    x, y = h.centre()
    text = f'text-anchor="middle" fill="{style.text}" aria-hidden="true"'
    return (f'<a class="analysis-map__area" href="{escape(area.href)}" aria-label="{name}" '
            f'data-area="{escape(h.area)}" data-level="{escape(area.level)}"><title>{name}</title>'
            f'<polygon class="analysis-map__hex" points="{h.points()}" fill="{style.fill}"/>'
            f'<text x="{x:.1f}" y="{y - 3:.1f}" font-size="13" font-weight="700" {text}>{escape(h.label)}</text>'
            f'<text x="{x:.1f}" y="{y + 15:.1f}" font-size="14" {text}>{style.number}</text></a>')
