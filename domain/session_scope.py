"""The one rule for which sessions a revocation reaches. Logout, deleting a session, changing
or resetting a password, deactivation and "log out everywhere" all name a scope from here."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.session import Session


@dataclass(frozen=True, slots=True)
class SessionScope:
    user_id: UUID
    only: UUID | None = None
    all_but: UUID | None = None

    @classmethod
    def one(cls, user_id: UUID, session_id: UUID) -> SessionScope:
        """Logout, or deleting one session from the list."""
        return cls(user_id=user_id, only=session_id)

    @classmethod
    def others(cls, user_id: UUID, current_session_id: UUID) -> SessionScope:
        """A password change: every device but the one that made it."""
        return cls(user_id=user_id, all_but=current_session_id)

    @classmethod
    def everything(cls, user_id: UUID) -> SessionScope:
        """Log out everywhere, a password reset, a deactivation."""
        return cls(user_id=user_id)

    def includes(self, session: Session) -> bool:
        if session.user_id != self.user_id or session.revoked_at is not None:
            return False
        if self.only is not None:
            return session.id == self.only
        return session.id != self.all_but
