"""Who may use the admin use cases: an active admin, as the database has them this request."""

from __future__ import annotations

import pytest

from application.authorization import require_admin
from application.errors import Forbidden
from domain.role import Role
from tests.unit.builders import Accounts


async def test_an_active_admin_is_allowed(accounts: Accounts) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    require_admin(root)


@pytest.mark.parametrize(
    ("role", "is_active"),
    [
        pytest.param(Role.USER, True, id="a plain user"),
        pytest.param(Role.USER, False, id="a deactivated plain user"),
        pytest.param(Role.ADMIN, False, id="a deactivated admin"),
    ],
)
async def test_anyone_but_an_active_admin_is_forbidden(
    accounts: Accounts, role: Role, is_active: bool
) -> None:
    actor = await accounts.user("someone@example.com", role=role, is_active=is_active)

    with pytest.raises(Forbidden):
        require_admin(actor)
