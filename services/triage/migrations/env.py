from alembic import context

from services.triage.tables import metadata
from shared.migrate import run_env

run_env(context, metadata)
