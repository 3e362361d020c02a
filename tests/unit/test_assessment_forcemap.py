"""The hexagon map of the force areas: its layout covers every force once, and each hexagon is a named link."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

from services.assessment.forcemap import LAYOUT_PATH, ForceHex, HexLayout, MapArea, default_layout, map_svg
from services.assessment.plain import LEVEL_STYLES
from services.assessment.scoring import LEVELS
from shared.areas import default_registry

SVG = "{http://www.w3.org/2000/svg}"
CSS = Path(__file__).resolve().parents[2] / "services" / "assessment" / "static" / "analysis.css"


def test_the_layout_has_every_force_area_exactly_once_and_one_hexagon_per_cell() -> None:
    layout = default_layout()
    codes = [h.area for h in layout.hexes]
    assert sorted(codes) == sorted(a.code for a in default_registry().all())
    assert len(codes) == len(set(codes)) == 45
    assert layout.problems(default_registry()) == []


def test_the_layout_file_says_where_it_came_from() -> None:
    document = json.loads(LAYOUT_PATH.read_text(encoding="utf-8"))
    assert "laid out by hand for vigil" in document["source"].lower()
    assert "not drawn from boundary files" in document["source"].lower()
    assert all(len(h["label"]) <= 4 for h in document["hexes"])


def test_a_broken_layout_is_named_for_what_is_wrong() -> None:
    met, gmp = ForceHex("E23000001", "MET", 0, 0), ForceHex("E23000005", "GMP", 0, 0)
    broken = HexLayout("test", (met, met, gmp, ForceHex("X99", "X", 1, 1)))
    problems = broken.problems(default_registry())
    assert "E23000001 has 2 hexagons" in problems
    assert "E23000002 has no hexagon" in problems
    assert "X99 is not a force area" in problems
    assert "row 0, column 0 holds 3 hexagons" in problems


def _map() -> ElementTree.Element:
    registry = default_registry()
    levels = {a.code: LEVELS[i % len(LEVELS)] for i, a in enumerate(registry.all())}
    areas = {a.code: MapArea(a.name, levels[a.code], f"/areas/{a.code}") for a in registry.all()}
    return ElementTree.fromstring(str(map_svg(default_layout(), areas, "map-heading")))  # noqa: S314 -- our own markup


def test_each_hexagon_is_a_link_named_by_its_area_and_risk_level() -> None:
    svg = _map()
    assert svg.get("role") == "group" and svg.get("aria-labelledby") == "map-heading"
    links = svg.findall(f"{SVG}a")
    assert len(links) == 45
    names = {a.code: a.name for a in default_registry().all()}
    for link in links:
        code = link.get("data-area") or ""
        word = LEVEL_STYLES[link.get("data-level") or ""].word
        assert link.get("aria-label") == f"{names[code]}: {word} risk"
        assert link.get("href") == f"/areas/{code}"
        assert link.findtext(f"{SVG}title") == link.get("aria-label")


def test_the_level_shows_as_a_number_as_well_as_a_colour() -> None:
    for link in _map().findall(f"{SVG}a"):
        style = LEVEL_STYLES[link.get("data-level") or ""]
        polygon, *texts = list(link)[1:]
        assert polygon.get("fill") == style.fill
        assert [t.text for t in texts][-1] == str(style.number)
        assert all(t.get("aria-hidden") == "true" for t in texts)


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_text_on_every_level_colour_is_readable_and_the_stylesheet_uses_the_same_colours() -> None:
    css = CSS.read_text()
    assert tuple(LEVEL_STYLES) == LEVELS
    for level, style in LEVEL_STYLES.items():
        light, dark = sorted((_luminance(style.fill), _luminance(style.text)), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, level
        rule = re.search(rf"\.analysis-level--{level} \{{([^}}]*)\}}", css)
        assert rule is not None and style.fill in rule.group(1) and style.text in rule.group(1)
    assert [s.number for s in LEVEL_STYLES.values()] == [1, 2, 3, 4, 5]
