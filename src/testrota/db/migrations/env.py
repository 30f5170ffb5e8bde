from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import testrota.db.models  # noqa: F401  (registers the tables)
from testrota.db.engine import make_engine
from testrota.db.locks import SCHEMA_LOCK, hold

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or make_engine(
        config.get_main_option("sqlalchemy.url") or "sqlite:///./testrota.db"
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            # Several processes running `testrota init` as they start (a deployment's web and
            # worker processes): each upgrade waits for the one before to commit, then reads the
            # revision it left and has nothing more to do. Without it all but one failed on a
            # duplicate catalog key.
            hold(connection, SCHEMA_LOCK)
            context.run_migrations()
        connection.commit()


run_migrations_online()
