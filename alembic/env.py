"""Alembic environment (async template) over the same MetaData as the repositories."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Connection

from adapters.persistence.database import Database
from adapters.persistence.tables import metadata
from alembic import context

config = context.config


def _database_url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return str(url)
    from entrypoints.settings import load_settings  # only when run as plain `alembic`

    return load_settings().database_url


def _run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration rebuilds a table by copying it and dropping the old one; with
        # foreign keys enforced, the drop would delete (ON DELETE CASCADE) every row of the
        # tables that refer to it. Off for the migration, checked once it is done. (The pragma
        # is only heard outside a transaction: before any statement that begins one.)
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()  # so that Alembic begins (and commits) its own transaction
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
            raise RuntimeError("the migration left rows whose foreign keys point nowhere")
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


async def _run_async_migrations() -> None:
    database = Database(_database_url(), pool_size=1)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await database.aclose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `portcullis migrate`")
asyncio.run(_run_async_migrations())
