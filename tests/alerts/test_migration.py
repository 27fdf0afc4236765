"""Migration 0002 adds the alert tables to a 0001 database, matches the models exactly, and
downgrades cleanly. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from servers import DATABASES
from sqlalchemy import inspect
from sqlmodel import SQLModel

from incidenttui.server.db import Database
from incidenttui.server.migrate import upgrade

ALERT_TABLES = {"integrations", "alert_groups", "alerts"}


@pytest.mark.parametrize("kind", DATABASES)
def test_0002_upgrades_matches_the_models_and_downgrades(db_url, kind):
    from alembic import command

    from incidenttui.server.migrate import alembic_config

    db = Database(db_url(kind))
    try:
        upgrade(db.write_engine, "0001")
        assert not ALERT_TABLES & set(inspect(db.write_engine).get_table_names())
        upgrade(db.write_engine)
        assert set(inspect(db.write_engine).get_table_names()) >= ALERT_TABLES
        with db.write_engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
        uniques = {u["name"] for u in inspect(db.write_engine).get_unique_constraints("alerts")}
        assert "uq_alerts_key_active" in uniques
        command.downgrade(alembic_config(db.write_engine), "0001")
        assert not ALERT_TABLES & set(inspect(db.write_engine).get_table_names())
        upgrade(db.write_engine)
    finally:
        db.dispose()
