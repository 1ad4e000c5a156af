"""An account's consent to an application: the scopes it may ask without asking the person
again. Consent only widens a grant; withdrawing it removes it whole."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.oauth_scope import Scope, Scopes


@dataclass(slots=True)
class Grant:
    user_id: UUID
    client_id: str
    scopes: Scopes
    created_at: datetime
    updated_at: datetime

    @classmethod
    def give(cls, user_id: UUID, client_id: str, scopes: Iterable[Scope], now: datetime) -> Grant:
        return cls(
            user_id=user_id,
            client_id=client_id,
            scopes=frozenset(scopes),
            created_at=now,
            updated_at=now,
        )

    def covers(self, scopes: Iterable[Scope]) -> bool:
        """Whether every one of these scopes was granted before."""
        return self.scopes.issuperset(scopes)

    def widen(self, scopes: Iterable[Scope], now: datetime) -> None:
        """Consent to more: the grant holds what it held and these scopes."""
        self.scopes = self.scopes | frozenset(scopes)
        self.updated_at = now
