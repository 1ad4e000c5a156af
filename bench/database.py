"""The bench's database: a SQLite file in the run's folder, or a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bench import config


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" or "postgresql"
    url: str  # for PORTCULLIS_DATABASE_URL


async def _postgres_admin(url: str, statement: str) -> None:
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def database(workdir: Path) -> Iterator[Database]:
    """A fresh, empty database, removed afterwards: PostgreSQL through
    PORTCULLIS_BENCH_DATABASE_URL when it is set, SQLite in `workdir` otherwise."""
    if not config.DATABASE_URL:
        yield Database("sqlite", f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
        return
    name = f"portcullis_bench_{secrets.token_hex(6)}"
    try:
        asyncio.run(_postgres_admin(config.DATABASE_URL, f'CREATE DATABASE "{name}"'))
    except Exception as error:
        raise RuntimeError(
            f"PORTCULLIS_BENCH_DATABASE_URL: cannot create a database there "
            f"({type(error).__name__}: {error})"
        ) from error
    try:
        url = make_url(config.DATABASE_URL).set(database=name)
        yield Database("postgresql", url.render_as_string(hide_password=False))
    finally:
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        asyncio.run(_postgres_admin(config.DATABASE_URL, drop))
