"""How many connections a worker keeps: PORTCULLIS_DATABASE_POOL_SIZE on PostgreSQL, a few on
SQLite (one writer at a time anyway), and never more on a burst (no overflow to open and close)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from adapters.persistence.database import SQLITE_POOL_SIZE
from entrypoints.container import build_container
from tests.e2e.conftest import settings_for
from tests.integration.conftest import sql_only

pytestmark = sql_only


async def test_the_pool_has_the_configured_size_and_no_overflow(database_url: str) -> None:
    database = build_container(settings_for(database_url, database_pool_size=3)).database()
    engine = database.engine
    try:
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        expected = (
            3 if make_url(database_url).get_backend_name() == "postgresql" else SQLITE_POOL_SIZE
        )
        assert pool.size() == expected
        # The burst limit is the point, and QueuePool has no public accessor for it.
        assert pool._max_overflow == 0  # noqa: SLF001
    finally:
        await database.aclose()
