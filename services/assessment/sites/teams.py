"""Neighbourhood teams: where a force has them configured, each team's share of an area's tasking list (#17).

A force area's places of worship are told apart by their postcode district (the register's `postcode_district`,
the outward code), so a team is the postcode districts it patrols within one area. The teams are a deployment's
set-up, a YAML file named by `ASSESSMENT_TASKING_TEAMS_FILE`:

    teams:
      hackney-north:
        name: Hackney North neighbourhood team
        area: E23000001
        postcode_districts: [N16, E5]

A team's code is the name notify's directory gives the same team of people (`teams:` there), so the morning
message of a team goes to its members. Without the file, or for an area none of whose teams it names, the list
is the area's, as before. A postcode district belongs to one team at most, so no site is on two teams' lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from services.assessment.sites.tasking import Task, Tasking
from shared.areas import AreaRegistry, outward_code

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Team:
    code: str
    name: str
    area: str
    postcode_districts: frozenset[str]

    def covers(self, task: Task) -> bool:
        return task.postcode_district in self.postcode_districts


class Teams:
    """Read-only: the configured teams, by code and by area."""

    def __init__(self, teams: Iterable[Team] = ()) -> None:
        self._teams = {t.code: t for t in teams}

    def get(self, code: str) -> Team | None:
        return self._teams.get(code)

    def of_area(self, area: str) -> list[Team]:
        return sorted((t for t in self._teams.values() if t.area == area), key=lambda t: t.code)

    def outside_every_team(self, tasking: Tasking) -> Tasking:
        """The area's list less the tasks of its teams' postcode districts (all of it when it has no teams)."""
        teams = self.of_area(tasking.area)
        return _narrowed(tasking, lambda task: not any(t.covers(task) for t in teams))


def narrowed(tasking: Tasking, team: Team) -> Tasking:
    """The team's share of its area's list: the tasks, dropped and not tasked sites of its postcode districts."""
    return _narrowed(tasking, team.covers)


def _narrowed(tasking: Tasking, keep: Any) -> Tasking:
    return replace(tasking, tasks=tuple(t for t in tasking.tasks if keep(t)),
                   dropped=tuple(t for t in tasking.dropped if keep(t)),
                   others=tuple(t for t in tasking.others if keep(t)))


def parse_teams(document: Mapping[str, Any], registry: AreaRegistry) -> Teams:
    """Every problem at once, each named by its team, so a deployment's file is mended in one go."""
    problems: list[str] = []
    teams: list[Team] = []
    owner: dict[tuple[str, str], str] = {}
    rows = document.get("teams") or {}
    if not isinstance(rows, Mapping):
        raise ValueError("teams: expected a mapping of team codes to teams")
    for code, row in rows.items():
        code = str(code)
        if not CODE.match(code):
            problems.append(f"teams.{code}: a code is lower-case letters, digits and hyphens (at most 40)")
        if not isinstance(row, Mapping):
            problems.append(f"teams.{code}: expected name, area and postcode_districts")
            continue
        area, name = str(row.get("area", "")), str(row.get("name") or code)
        if registry.get(area) is None:
            problems.append(f"teams.{code}.area: {area or 'missing'} is not a police force area Vigil knows")
        districts = set()
        for given in row.get("postcode_districts") or []:
            district = outward_code(str(given))
            if district is None or district != str(given).replace(" ", "").upper():
                problems.append(f"teams.{code}.postcode_districts: {given!r} is not a postcode district (e.g. N16)")
                continue
            if (area, district) in owner:
                problems.append(f"teams.{code}.postcode_districts: {district} is already {owner[area, district]}'s")
            owner[area, district] = code
            districts.add(district)
        if not districts:
            problems.append(f"teams.{code}.postcode_districts: name at least one")
        teams.append(Team(code, name, area, frozenset(districts)))
    if problems:
        raise ValueError("; ".join(problems))
    return Teams(teams)


def load_teams_file(path: Path | None, registry: AreaRegistry) -> Teams:
    if path is None:
        return Teams()
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, Mapping):
        raise ValueError(f"{path}: expected a mapping with 'teams'")
    try:
        return parse_teams(document, registry)
    except ValueError as problem:
        raise ValueError(f"{path}: {problem}") from None
