"""Behaviour of the police force area registry that ``location.area`` is validated against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.areas import AreaRegistry, District, default_registry, outward_code

MET = "E23000001"
CITY_OF_LONDON = "E23000034"
GREATER_MANCHESTER = "E23000005"
WEST_MIDLANDS = "E23000014"
WEST_YORKSHIRE = "E23000010"
SOUTH_WALES = "W15000003"
DYFED_POWYS = "W15000004"
POLICE_SCOTLAND = "S23000009"
PSNI = "N99000001"


@pytest.fixture(scope="module")
def registry() -> AreaRegistry:
    return AreaRegistry.load()


def test_the_met_is_e23000001(registry: AreaRegistry) -> None:
    area = registry.get(MET)
    assert area is not None
    assert area.name == "Metropolitan Police"
    assert area.nation == "england"


def test_dyfed_powys_is_w15000004(registry: AreaRegistry) -> None:
    area = registry.get(DYFED_POWYS)
    assert area is not None
    assert area.name == "Dyfed-Powys"
    assert area.nation == "wales"


def test_england_and_wales_have_43_territorial_force_areas(registry: AreaRegistry) -> None:
    england = [a for a in registry.all() if a.nation == "england"]
    wales = [a for a in registry.all() if a.nation == "wales"]
    assert len(england) == 39
    assert len(wales) == 4
    assert {a.code for a in england} == {f"E230000{n:02d}" for n in range(1, 40)}
    assert {a.code for a in wales} == {f"W1500000{n}" for n in range(1, 5)}


def test_area_codes_and_names_are_unique(registry: AreaRegistry) -> None:
    areas = registry.all()
    assert len({a.code for a in areas}) == len(areas)
    assert len({a.name for a in areas}) == len(areas)


def test_all_is_sorted_by_code(registry: AreaRegistry) -> None:
    codes = [a.code for a in registry.all()]
    assert codes == sorted(codes)


def test_scotland_and_northern_ireland_are_present(registry: AreaRegistry) -> None:
    scotland = registry.get(POLICE_SCOTLAND)
    northern_ireland = registry.get(PSNI)
    assert scotland is not None and scotland.nation == "scotland"
    assert northern_ireland is not None and northern_ireland.nation == "northern_ireland"


def test_british_transport_police_is_not_a_territorial_area(registry: AreaRegistry) -> None:
    assert not any("Transport" in a.name for a in registry.all())


def test_membership_is_by_area_code(registry: AreaRegistry) -> None:
    assert MET in registry
    assert "E23000099" not in registry


@pytest.mark.parametrize(
    ("postcode", "area"),
    [
        ("M1 1AE", GREATER_MANCHESTER),
        ("B10 0AA", WEST_MIDLANDS),
        ("LS6 3AA", WEST_YORKSHIRE),
        ("SW1A 1AA", MET),
        ("EC2R 8AH", CITY_OF_LONDON),
        ("CF10 1AA", SOUTH_WALES),
        ("G1 1AA", POLICE_SCOTLAND),
        ("BT1 1AA", PSNI),
    ],
)
def test_full_postcodes_resolve_to_their_force(registry: AreaRegistry, postcode: str, area: str) -> None:
    assert registry.area_for_postcode(postcode) == area


@pytest.mark.parametrize(
    ("district", "area"),
    [("M1", GREATER_MANCHESTER), ("m1", GREATER_MANCHESTER), (" m1 ", GREATER_MANCHESTER),
     ("LS6", WEST_YORKSHIRE), ("b10", WEST_MIDLANDS), ("Cf10", SOUTH_WALES), ("sw1a", MET)],
)
def test_outward_districts_resolve_whatever_the_case_or_spacing(
    registry: AreaRegistry, district: str, area: str
) -> None:
    assert registry.area_for_postcode(district) == area


@pytest.mark.parametrize("postcode", ["m11ae", "M11AE", "m1  1ae", " M1 1AE ", "m1\t1ae"])
def test_full_postcodes_tolerate_lowercase_and_spacing(registry: AreaRegistry, postcode: str) -> None:
    assert registry.area_for_postcode(postcode) == GREATER_MANCHESTER


def test_full_postcode_splits_on_the_inward_code_not_the_first_digits(registry: AreaRegistry) -> None:
    # "B101AA" is B10 + 1AA, not B1 + 01AA: the inward code is always digit + two letters.
    assert outward_code("B101AA") == "B10"
    assert outward_code("SW1A1AA") == "SW1A"
    assert outward_code("M11AE") == "M1"


def test_unknown_district_returns_none(registry: AreaRegistry) -> None:
    assert registry.area_for_postcode("ZZ9 9ZZ") is None
    assert registry.area_for_postcode("ZZ9") is None


def test_district_straddling_forces_is_not_guessed(registry: AreaRegistry) -> None:
    # E1 includes the City of London's Portsoken ward as well as Tower Hamlets.
    assert registry.area_for_postcode("E1 6AN") is None


@pytest.mark.parametrize("postcode", ["", "   ", "12345", "M", "NOT A POSTCODE", "M1 1A", "M1 AAE", "M1!1AE"])
def test_malformed_postcode_returns_none(registry: AreaRegistry, postcode: str) -> None:
    assert registry.area_for_postcode(postcode) is None


def test_every_postcode_district_points_at_a_known_area(registry: AreaRegistry) -> None:
    mapping = registry.postcode_districts()
    assert len(mapping) >= 150
    assert all(area in registry for area in mapping.values())


def test_districts_map_to_their_area(registry: AreaRegistry) -> None:
    tower_hamlets = registry.district("E09000030")
    assert tower_hamlets == District(code="E09000030", name="Tower Hamlets", area=MET)
    assert registry.area_of("E09000030") == MET
    assert registry.area_of("E09000001") == CITY_OF_LONDON
    assert tower_hamlets in registry.districts_of(MET)


def test_area_of_an_area_is_itself_and_of_an_unknown_code_is_none(registry: AreaRegistry) -> None:
    assert registry.area_of(MET) == MET
    assert registry.area_of("E09999999") is None


def test_is_valid_accepts_area_and_district_codes_only(registry: AreaRegistry) -> None:
    assert registry.is_valid(DYFED_POWYS)
    assert registry.is_valid("E08000025")
    assert not registry.is_valid("E23000099")
    assert not registry.is_valid("M1")


def _write(path: Path, document: dict[str, object]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_extra_file_extends_the_registry(tmp_path: Path) -> None:
    extra = _write(tmp_path / "extra.json", {
        "districts": [{"code": "E05009317", "name": "Spitalfields and Banglatown", "area": MET}],
        "postcode_districts": {"zz1": DYFED_POWYS},
    })
    registry = AreaRegistry.load(extra=extra)
    assert registry.area_of("E05009317") == MET
    assert registry.area_for_postcode("ZZ1 1AA") == DYFED_POWYS
    assert registry.area_of("E09000030") == MET  # packaged districts are kept


def test_extra_file_referencing_an_unknown_area_is_rejected(tmp_path: Path) -> None:
    extra = _write(tmp_path / "extra.json", {"districts": [{"code": "X1", "name": "X", "area": "E23000099"}]})
    with pytest.raises(ValueError, match="unknown area"):
        AreaRegistry.load(extra=extra)


def test_extra_file_cannot_add_force_areas(tmp_path: Path) -> None:
    new_area = {"code": "E23000099", "name": "X", "nation": "england"}
    extra = _write(tmp_path / "extra.json", {"areas": [new_area]})
    with pytest.raises(ValueError, match="not force areas"):
        AreaRegistry.load(extra=extra)


def test_default_registry_is_loaded_once() -> None:
    assert default_registry() is default_registry()
    assert default_registry().get(MET) is not None
