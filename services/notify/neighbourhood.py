"""Who an area's neighbourhood officers are, for a message to the area's neighbourhood team (docs/notify.md,
"Places of worship").

Triage keeps the staff accounts (ADR 0046): the officers of an area are the enabled accounts with the
`neighbourhood_officer` role whose areas include it. An area without one is not left untold: the enabled
national officers (the role, no areas) are told instead, and without those either, or when triage cannot
say, the people the directory names as the area's neighbourhood team (the team community impact assessments
are asked of). Used by any feature that tells an area's neighbourhood team something: routines overdue at
places of worship today; patrols and visits may use it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.notify.policy import Directory
from services.notify.rendering import STAFF
from services.notify.staff_directory import Accounts, StaffAccount, TriageUnavailable

ROLE = "neighbourhood_officer"
IN_AREA, NATIONAL_OFFICERS, DIRECTORY_TEAM, NAMED_TEAM = "area", "national", "directory", "team"


@dataclass(frozen=True)
class Officers:
    """The recipients, as ledger references (`staff:<username>`, or `person:<id>` from the directory), and
    which rule chose them."""

    recipients: tuple[str, ...]
    chosen_by: str


def officers_of(accounts: Mapping[str, StaffAccount], area: str) -> tuple[list[str], str] | None:
    """Usernames of the area's officers, else of the national ones, with which it was; None when neither.
    Pure: sorted, so the same accounts give the same answer."""
    officers = [a for a in accounts.values() if a.enabled and ROLE in a.roles]
    local = sorted(a.username for a in officers if area in a.areas)
    if local:
        return local, IN_AREA
    national = sorted(a.username for a in officers if not a.areas)
    return (national, NATIONAL_OFFICERS) if national else None


class NeighbourhoodOfficers:
    def __init__(self, directory: Directory, accounts: Accounts | None) -> None:
        self.directory = directory
        self.accounts = accounts

    def of(self, area: str) -> Officers:
        try:
            listed = self.accounts.listed() if self.accounts else {}
        except TriageUnavailable:
            listed = {}
        found = officers_of(listed, area)
        if found is not None:
            usernames, rule = found
            return Officers(tuple(f"{STAFF}:{u}" for u in usernames), rule)
        team = self.directory.teams[self.directory.area(area).neighbourhood_team]
        return Officers(tuple(f"person:{p}" for p in dict.fromkeys(team)), DIRECTORY_TEAM)

    def of_team(self, team: str, area: str) -> Officers:
        """A neighbourhood team by its code (a place of worship's tasking, per team where assessment has teams):
        the people the directory names for it; the area's officers when it names no such team."""
        members = self.directory.teams.get(team)
        if members:
            return Officers(tuple(f"person:{p}" for p in dict.fromkeys(members)), NAMED_TEAM)
        return self.of(area)
