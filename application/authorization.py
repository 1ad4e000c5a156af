"""Who may do what. Decided here, in the use cases, from the actor as the database has them
this request — never from a token's claims."""

from __future__ import annotations

from application.errors import Forbidden
from domain.role import Role
from domain.user import User


def require_admin(actor: User) -> None:
    if actor.role is not Role.ADMIN or not actor.is_active:
        raise Forbidden()
