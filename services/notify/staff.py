"""What every message to staff needs: the channels a person can be reached on, an area's name, a link
into triage's pages, and times as staff read them (UK time, with the zone said)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.notify.policy import Directory
from shared.areas import AreaRegistry
from shared.events.incidents import NATIONAL

LONDON = ZoneInfo("Europe/London")
STAFF_CHANNELS = ("email", "sms", "log")
LOG = "log"


def uk_time(dt: datetime | None) -> str:
    return dt.astimezone(LONDON).strftime("%H:%M %d %b %Y (UK time)") if dt else "-"


class StaffContacts:
    def __init__(self, directory: Directory, areas: AreaRegistry, staff_ui_url: str,
                 channels: tuple[str, ...] = STAFF_CHANNELS) -> None:
        self.directory = directory
        self.areas = areas
        self.staff_ui_url = staff_ui_url.rstrip("/")
        self.channels = channels

    def channels_of(self, person_id: str) -> list[str]:
        """The person's channels that are switched on; the log when none is, so nobody is silently skipped."""
        wanted: list[str] = [c for c in self.directory.people[person_id].channels if c in self.channels]
        return wanted or [LOG]

    def area_name(self, code: str) -> str:
        if code == NATIONAL:
            return "all areas (national)"
        area = self.areas.get(code)
        return area.name if area else code

    def link(self, path: str) -> str:
        return f"{self.staff_ui_url}/{path.lstrip('/')}"
