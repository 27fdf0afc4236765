"""Alembic environment: the engine is handed in by incidenttui.server.migrate."""

from alembic import context
from sqlmodel import SQLModel

import incidenttui.server.audit  # noqa: F401
import incidenttui.server.escalation  # noqa: F401
import incidenttui.server.membership  # noqa: F401
import incidenttui.server.models  # noqa: F401  (registers the tables)
import incidenttui.server.notify  # noqa: F401
import incidenttui.server.organisation  # noqa: F401
import incidenttui.server.tokens  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
