from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.persistence.tables import login_failures as table
from domain.login_throttle import FailedLogins, LoginThrottlePolicy


class SqlAlchemyLoginFailureCounter:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, key: str) -> FailedLogins | None:
        row = (await self._connection.execute(select(table).where(table.c.key == key))).first()
        if row is None:
            return None
        return FailedLogins(
            key=row.key, failures=row.failures, window_started_at=row.window_started_at
        )

    async def record_failure(
        self, key: str, now: datetime, policy: LoginThrottlePolicy
    ) -> FailedLogins:
        # LoginThrottlePolicy.after_failure, as one upsert: concurrent failures all count.
        insert = (
            postgresql_insert if self._connection.dialect.name == "postgresql" else sqlite_insert
        )
        window_over = table.c.window_started_at <= now - policy.window
        upsert = insert(table).values(key=key, failures=1, window_started_at=now)
        statement = upsert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "failures": case((window_over, 1), else_=table.c.failures + 1),
                "window_started_at": case((window_over, now), else_=table.c.window_started_at),
            },
        ).returning(table.c.failures, table.c.window_started_at)
        row = (await self._connection.execute(statement)).one()
        return FailedLogins(key=key, failures=row.failures, window_started_at=row.window_started_at)

    async def clear(self, key: str) -> None:
        await self._connection.execute(delete(table).where(table.c.key == key))
