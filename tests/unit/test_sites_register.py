"""The register's rules and `vigil sites import`'s reading of a CSV file: every bad row named, all or nothing."""

from __future__ import annotations

import pytest

from services.assessment.sites.importing import parse_measures, parse_sites
from services.assessment.sites.register import SiteIn, SiteInvalid, checked, problems_of
from shared.areas import default_registry
from shared.events.sites import SecurityMeasure

HEADER = "name,faith,area,postcode_district,capacity_band,measures"
GMP, MET = "E23000005", "E23000001"


def csv_of(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def entry(**changes: object) -> SiteIn:
    doc: dict[str, object] = {"name": "Central Mosque", "faith": "muslim", "area": GMP, "postcode_district": "M13",
                              "capacity_band": "800+", "measures": ["cctv"]}
    return SiteIn.model_validate(doc | changes)


def test_measures_ignore_case_spaces_underscores_and_the_hyphen_of_anti_shatter() -> None:
    found, unknown = parse_measures("CCTV; Intruder Alarm;door_hardening ; anti-shatter film;Anti_Shatter_Film;"
                                    "ACCESS control;video intercom;Trained Staff;;")
    assert found == [SecurityMeasure.cctv, SecurityMeasure.intruder_alarm, SecurityMeasure.door_hardening,
                     SecurityMeasure.anti_shatter_film, SecurityMeasure.anti_shatter_film,
                     SecurityMeasure.access_control, SecurityMeasure.video_intercom, SecurityMeasure.trained_staff]
    assert unknown == []
    assert parse_measures("cctv;moat;lasers") == ([SecurityMeasure.cctv], ["moat", "lasers"])


def test_a_good_file_is_read_into_sites_with_every_column() -> None:
    text = csv_of(
        "Central Mosque,Muslim,E23000005,M13,800+,CCTV;Intruder Alarm;stewards",
        '"Synagogue of the North",jewish,E23000005,M8,200-799,"lighting; gates"',
        "St Mary's,christian,E23000001,SW1A,under 200,",
        header=HEADER)
    parsed = parse_sites(text, default_registry())
    assert parsed.errors == []
    assert [(s.name, s.faith.value, s.capacity_band.value) for s in parsed.sites] == [
        ("Central Mosque", "muslim", "800+"), ("Synagogue of the North", "jewish", "200-799"),
        ("St Mary's", "christian", "under 200")]
    assert parsed.sites[0].measures == [SecurityMeasure.cctv, SecurityMeasure.intruder_alarm, SecurityMeasure.stewards]
    assert parsed.sites[2].measures == []


def test_optional_columns_give_services_children_funding_and_a_sealed_contact() -> None:
    header = HEADER + ",kind,children_on_site,services,funding_stage,funding_applied_on,contact_name,contact_email"
    row = ("Central Mosque,muslim,E23000005,M13,800+,cctv,place of worship,yes,"
           "Friday prayers|fri|13:15|main;Fajr|daily|05:30,applied,2026-09-01,Aisha Khan,aisha@example.org")
    [site] = parse_sites(csv_of(row, header=header), default_registry()).sites
    assert site.children_on_site is True and site.kind.value == "place_of_worship"
    assert [(s.name, s.day.value, s.time, s.main) for s in site.services] == [
        ("Friday prayers", "friday", "13:15", True), ("Fajr", "daily", "05:30", False)]
    assert site.funding.stage.value == "applied" and str(site.funding.applied_on) == "2026-09-01"
    assert site.contacts is not None and site.contacts[0].name == "Aisha Khan"


def test_a_file_with_one_bad_row_imports_nothing_and_names_every_problem_by_row_and_column() -> None:
    text = csv_of(
        "Central Mosque,muslim,E23000005,M13,800+,cctv",
        "Temple,budhist,E23000005,M13,800+,cctv",
        "Gurdwara,sikh,E99999999,M13,lots,cctv;moat",
        "Church,christian,E23000005,M13 9PL,under 200,",
        "Chapel,christian,E23000005,SW1A,under 200,",
        "central  MOSQUE,muslim,E23000005,M13,800+,",
    )
    parsed = parse_sites(text, default_registry())
    assert parsed.sites == []
    messages = [str(e) for e in parsed.errors]
    assert "row 2 (line 3), faith: 'budhist' is not one of: muslim, jewish, sikh, hindu, christian, other" in messages
    assert "row 3 (line 4), capacity_band: 'lots' is not one of: under 200, 200-799, 800+" in messages
    assert any(m.startswith("row 3 (line 4), measures: not a measure we know: moat") for m in messages)
    assert "row 4 (line 5), postcode_district: give the district only (M13), not the full postcode" in messages
    assert any(m.startswith("row 5 (line 6), postcode_district: SW1A is in ") for m in messages)
    assert "row 6 (line 7), name: the same site as row 1" in messages
    assert not any(m.startswith("row 1 ") for m in messages)


def test_an_unknown_area_is_named_once_the_rest_of_the_row_reads() -> None:
    parsed = parse_sites(csv_of("Gurdwara,sikh,E99999999,B21,under 200,"), default_registry())
    assert [str(e) for e in parsed.errors] == [
        "row 1 (line 2), area: 'E99999999' is not a police force area code (ONS, e.g. E23000005)"]


def test_a_file_without_the_required_columns_is_refused_whole() -> None:
    parsed = parse_sites("name,faith,area\nX,muslim,E23000005\n", default_registry())
    assert [str(e) for e in parsed.errors] == ["the file: missing column: postcode_district",
                                               "the file: missing column: capacity_band",
                                               "the file: missing column: measures"]
    assert [str(e) for e in parse_sites(HEADER + ",colour\n", default_registry()).errors] == [
        "the file: unknown column: colour"]
    assert [str(e) for e in parse_sites(HEADER + "\n", default_registry()).errors] == ["the file: no sites in the file"]


def test_an_entry_is_made_canonical_and_funding_dates_must_follow_the_stage() -> None:
    site = checked(entry(name="  Central   Mosque ", measures=["lighting", "cctv", "lighting"],
                         postcode_district="M13").entry(), default_registry())
    assert site.name == "Central Mosque" and [m.value for m in site.measures] == ["cctv", "lighting"]
    late = entry(funding={"stage": "applied", "applied_on": "2026-09-01", "installed_on": "2026-08-01"})
    assert [(p.field, p.message) for p in problems_of(late.entry(), default_registry())] == [
        ("funding.installed_on", "the site has not reached 'installed' yet"),
        ("funding", "the dates must run applied, then surveyed, then installed")]
    with pytest.raises(SiteInvalid):
        checked(entry(area=MET, postcode_district="M13").entry(), default_registry())
