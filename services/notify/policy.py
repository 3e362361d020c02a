"""Who is told, and when: the staff directory, on-call rotas and escalation policies.

Plain Python over pydantic models. The shapes follow the paging tools staff already know
(PagerDuty, Opsgenie): a rota hands each area's Duty Inspector duty round a list of
people in fixed shifts; an escalation policy is ordered levels, each with targets and a
delay before the next level, re-sending within a level until acknowledged, and the whole
policy repeated `loops` more times before it is exhausted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ChannelName = Literal["email", "sms", "log"]
ON_CALL = "on_call"
DEFAULT_AREA = "default"


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Config):
    """A member of staff; their contact details stay in notify's configuration, never on Kafka."""

    name: str = ""  # a staff account's entry may leave it to triage (services/notify/staff_directory.py)
    email: str | None = None
    phone: str | None = None
    language: str = "en"
    channels: list[ChannelName] = ["email"]


class Rota(_Config):
    """Fixed-length shifts handed round `people` from `start`, like a PagerDuty schedule layer."""

    start: datetime
    shift_hours: float = Field(12, gt=0)
    people: list[str] = Field(min_length=1)

    def on_call(self, at: datetime) -> str:
        return self.people[self._shift(at) % len(self.people)]

    def handover_after(self, at: datetime) -> datetime:
        """When the shift running at `at` hands over to the next."""
        return _aware(self.start) + timedelta(hours=self.shift_hours) * (self._shift(at) + 1)

    def _shift(self, at: datetime) -> int:
        return int((at - _aware(self.start)) // timedelta(hours=self.shift_hours))


class Level(_Config):
    targets: list[str] = Field(min_length=1, description="'on_call', 'person:<id>' or 'team:<name>'")
    delay_minutes: float = Field(15, gt=0, description="wait before escalating to the next level")


class EscalationPolicy(_Config):
    levels: list[Level] = Field(min_length=1)
    resend_every_minutes: float | None = Field(5, gt=0, description="re-send within a level until acknowledged")
    loops: int = Field(0, ge=0, description="times the whole policy repeats after the last level")


class AreaSetup(_Config):
    rota: Rota
    policy: str = "standard"
    neighbourhood_team: str
    community_liaison: str


class Subscription(_Config):
    """A partner agency's webhook: which areas and event types, and whether handling code C is allowed."""

    url: str
    secret: str
    areas: list[str] = ["*"]
    event_types: list[str] = ["*"]
    handling_c: bool = False

    def entitled(self, area: str, event_type: str, handling: str | None) -> bool:
        return (("*" in self.areas or area in self.areas)
                and ("*" in self.event_types or event_type in self.event_types)
                and (handling != "C" or self.handling_c))


class SupportOrganisation(_Config):
    """A support service a reporter can ask to be referred to (Victim Support, a community's own service), for
    the areas it covers: by email, or by a Standard Webhooks endpoint with its secret."""

    name: str
    areas: list[str] = Field(["*"], description="force area or district codes, or '*' for anywhere")
    email: str | None = None
    url: str | None = None
    secret: str | None = None

    @model_validator(mode="after")
    def _one_way_in(self) -> SupportOrganisation:
        if (self.email is None) == (self.url is None):
            raise ValueError("a support organisation takes referrals by email or by webhook (url): give one")
        if self.url is not None and not self.secret:
            raise ValueError("a support organisation's webhook needs its secret, to sign referrals")
        return self


class Directory(_Config):
    """The whole configuration: people, teams, per-area set-up, policies, partner subscriptions and the support
    organisations reporters are referred to."""

    people: dict[str, Person]
    teams: dict[str, list[str]] = {}
    areas: dict[str, AreaSetup]
    policies: dict[str, EscalationPolicy]
    partners: dict[str, Subscription] = {}
    support: dict[str, SupportOrganisation] = {}

    @field_validator("areas")
    @classmethod
    def _has_default(cls, areas: dict[str, AreaSetup]) -> dict[str, AreaSetup]:
        if DEFAULT_AREA not in areas:
            raise ValueError(f"areas needs a '{DEFAULT_AREA}' entry for areas without their own set-up")
        return areas

    @model_validator(mode="after")
    def _references_resolve(self) -> Directory:
        problems = []
        for code, setup in self.areas.items():
            problems += [f"areas.{code}.rota: unknown person {p}" for p in setup.rota.people if p not in self.people]
            if setup.policy not in self.policies:
                problems.append(f"areas.{code}.policy: unknown policy {setup.policy}")
            for team in (setup.neighbourhood_team, setup.community_liaison):
                if team not in self.teams:
                    problems.append(f"areas.{code}: unknown team {team}")
        for name, members in self.teams.items():
            problems += [f"teams.{name}: unknown person {p}" for p in members if p not in self.people]
        for name, policy in self.policies.items():
            for i, level in enumerate(policy.levels):
                problems += [f"policies.{name}.levels[{i}]: {t}" for t in level.targets if not self._target_ok(t)]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _target_ok(self, target: str) -> bool:
        kind, _, ref = target.partition(":")
        return target == ON_CALL or (kind == "person" and ref in self.people) or (kind == "team" and ref in self.teams)

    def area(self, code: str) -> AreaSetup:
        return self.areas.get(code) or self.areas[DEFAULT_AREA]

    def policy_for(self, area: str) -> EscalationPolicy:
        return self.policies[self.area(area).policy]

    def on_call(self, area: str, at: datetime, override: str | None = None) -> str:
        return override if override in self.people else self.area(area).rota.on_call(at)

    def resolve(self, target: str, area: str, at: datetime, override: str | None = None) -> list[str]:
        """Person ids a target names, in order, without repeats."""
        if target == ON_CALL:
            return [self.on_call(area, at, override)]
        kind, _, ref = target.partition(":")
        return [ref] if kind == "person" else list(dict.fromkeys(self.teams[ref]))

    def level_people(self, area: str, level: int, at: datetime, override: str | None = None) -> list[str]:
        targets = self.policy_for(area).levels[level].targets
        people = [p for t in targets for p in self.resolve(t, area, at, override)]
        return list(dict.fromkeys(people))

    def cia_people(self, area: str) -> list[str]:
        setup = self.area(area)
        return list(dict.fromkeys(self.teams[setup.neighbourhood_team] + self.teams[setup.community_liaison]))

    def support_for(self, area: str, district: str | None = None) -> str | None:
        """The support organisation for a place: the one naming its district, else its force area, else one
        covering anywhere ('*'); of several equally close, the first by id."""
        for code in (district, area, "*"):
            found = sorted(key for key, org in self.support.items() if code and code in org.areas)
            if found:
                return found[0]
        return None


@dataclass(frozen=True)
class Window:
    """Someone else on call for an area from `starts_at` until `ends_at`; where two overlap, the later set wins."""

    person_id: str
    starts_at: datetime
    ends_at: datetime
    set_at: datetime


@dataclass(frozen=True)
class Duty:
    """A stretch of one person on call: from `starts_at` (None: already on call) until `ends_at` (None: no
    handover within the horizon looked at)."""

    person_id: str
    starts_at: datetime | None
    ends_at: datetime | None
    by_override: bool


def on_call_with(rota: Rota, windows: list[Window], at: datetime) -> tuple[str, bool]:
    """Who is on call at `at`, and whether by an override."""
    covering = [w for w in windows if w.starts_at <= at < w.ends_at]
    if covering:
        return max(covering, key=lambda w: w.set_at).person_id, True
    return rota.on_call(at), False


def duties(rota: Rota, windows: list[Window], now: datetime, count: int = 2,
           horizon: timedelta = timedelta(days=14)) -> list[Duty]:
    """Who is on call now, then who takes over next, ...: `count` stretches at most, handovers to the same
    person run on (a shift swapped for one with the same person is no handover)."""
    person, by_override = on_call_with(rota, windows, now)
    found: list[Duty] = []
    start: datetime | None = None
    at, limit = now, now + horizon
    while len(found) < count:
        at = _next_change(rota, windows, at)
        if at > limit:
            return [*found, Duty(person, start, None, by_override)]
        taking_over, by = on_call_with(rota, windows, at)
        if taking_over != person:
            found.append(Duty(person, start, at, by_override))
            person, by_override, start = taking_over, by, at
    return found


def _next_change(rota: Rota, windows: list[Window], after: datetime) -> datetime:
    edges = [t for w in windows for t in (w.starts_at, w.ends_at) if t > after]
    return min([rota.handover_after(after), *edges])


@dataclass(frozen=True)
class Page:
    """One step of the chase: the level paged, which pass through the policy, which re-send."""

    level: int
    loop: int
    repeat: int

    @property
    def label(self) -> str:
        return f"L{self.level + 1}.{self.loop}.{self.repeat}"


FIRST_PAGE = Page(0, 0, 0)


def next_page(policy: EscalationPolicy, page: Page) -> tuple[Page | None, timedelta]:
    """The page after `page` and how long after it; None once the policy is exhausted (after that wait).

    Re-sends happen every `resend_every_minutes` while they fall before the level's delay;
    at the delay the chase moves to the next level (or back to the first, while loops remain).
    """
    delay = timedelta(minutes=policy.levels[page.level].delay_minutes)
    every = timedelta(minutes=policy.resend_every_minutes) if policy.resend_every_minutes else None
    elapsed = every * page.repeat if every else timedelta(0)
    if every and elapsed + every < delay:
        return Page(page.level, page.loop, page.repeat + 1), every
    remaining = delay - elapsed
    if page.level + 1 < len(policy.levels):
        return Page(page.level + 1, page.loop, 0), remaining
    if page.loop < policy.loops:
        return Page(0, page.loop + 1, 0), remaining
    return None, remaining


def parse_page(label: str) -> Page:
    level, loop, repeat = label.removeprefix("L").split(".")
    return Page(int(level) - 1, int(loop), int(repeat))


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def load_directory(path: str | Path | None = None) -> Directory:
    """Read a directory from YAML or JSON (JSON is YAML); the shipped development one when no path is given."""
    source = Path(path) if path else Path(__file__).resolve().parent / "directory.yaml"
    return Directory.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))
