"""What assessment's routes take from the composition root, as typed dependencies.

`main.py` builds the service and puts its parts on `app.state`; a route names the parts it needs
(`db: DatabaseDep`) and never imports `main.py`, so routers and the root do not import each other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.assessment.scoring import ScoringConfig
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def area_registry(request: Request) -> AreaRegistry:
    registry: AreaRegistry = request.app.state.registry
    return registry


def scoring_config(request: Request) -> ScoringConfig:
    scoring: ScoringConfig = request.app.state.scoring
    return scoring


def clock(request: Request) -> Clock:
    now: Clock = request.app.state.clock
    return now


DatabaseDep = Annotated[Database, Depends(database)]
RegistryDep = Annotated[AreaRegistry, Depends(area_registry)]
ScoringDep = Annotated[ScoringConfig, Depends(scoring_config)]
ClockDep = Annotated[Clock, Depends(clock)]
