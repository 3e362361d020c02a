"""`vigil sites import FILE.csv` as a person runs it: a good file registers every site, a file with a bad row
registers none, names every problem and exits non-zero."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from shared.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
HEADER = "name,faith,area,postcode_district,capacity_band,measures,services,contact_name,contact_phone"


def _run(csv: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSESSMENT_DATABASE_URL": url, "VIGIL_ENVIRONMENT": "test"}
    return subprocess.run([sys.executable, "-m", "services.cli", "sites", "import", str(csv), "--by", "importer"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _events(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT type, data FROM event_log ORDER BY seq")).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_a_good_file_registers_every_site_with_contacts_sealed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    csv = tmp_path / "sites.csv"
    csv.write_text("\n".join([
        HEADER,
        "Central Mosque,muslim,E23000005,M13,800+,CCTV; Intruder Alarm; Stewards,Friday prayers|friday|13:15|main,"
        "Aisha Khan,07700 900123",
        "Heaton Park Synagogue,jewish,E23000005,M25,200-799,cctv;gates;trained_staff,,,",
        "Gurdwara Sri Guru Singh Sabha,sikh,E23000001,UB2,800+,,,,",
    ]) + "\n", encoding="utf-8")
    run = _run(csv, url)
    assert run.returncode == 0, run.stderr
    assert "imported 3 site(s)" in run.stdout
    events = _events(url)
    assert [t for t, _ in events] == ["vigil.site.registered.v1"] * 3
    assert not any("Aisha" in data or "07700" in data for _, data in events)
    first = json.loads(events[0][1])
    assert first["registered_by"] == "importer" and first["entry"]["measures"] == ["cctv", "intruder_alarm",
                                                                                   "stewards"]
    again = _run(csv, url)
    assert again.returncode == 1 and "already in the register" in again.stderr
    assert len(_events(url)) == 3


def test_a_file_with_a_bad_row_imports_nothing_and_names_each_problem(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    csv = tmp_path / "sites.csv"
    csv.write_text("\n".join([
        HEADER,
        "Central Mosque,muslim,E23000005,M13,800+,cctv,,,",
        "Shri Ram Mandir,hindoo,E23000005,M13,800+,cctv;moat,,,",
        "St Mary,christian,E23000005,M13 9PL,huge,,,,",
    ]) + "\n", encoding="utf-8")
    run = _run(csv, url)
    assert run.returncode == 1
    assert "sites.csv: row 2 (line 3), faith: 'hindoo' is not one of" in run.stderr
    assert "sites.csv: row 2 (line 3), measures: not a measure we know: moat" in run.stderr
    assert "sites.csv: row 3 (line 4), postcode_district: give the district only (M13)" in run.stderr
    assert "sites.csv: row 3 (line 4), capacity_band: 'huge' is not one of: under 200, 200-799, 800+" in run.stderr
    assert "nothing imported (4 problem(s))" in run.stderr
    assert _events(url) == []
