from alembic import context

from services.intake.tables import metadata
from shared.migrate import run_env

run_env(context, metadata)
