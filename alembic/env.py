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
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


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
