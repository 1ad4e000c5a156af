"""ListUsers: an admin pages through accounts, oldest first, by an opaque keyset cursor."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TypedDict, Unpack

import pytest

from application.caller import Principal
from application.errors import InvalidCursor
from application.pagination import Page
from application.use_cases.admin.list_users import ListUsers, ListUsersQuery
from domain.role import Role
from domain.user import User
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, InMemoryStore
from tests.unit.builders import Accounts


class Criteria(TypedDict, total=False):
    q: str
    role: Role
    is_active: bool


# More pages than any test here has accounts: a walk that goes on longer never ends.
MAX_PAGES = 50


async def walk(
    list_users: ListUsers,
    actor: Principal,
    limit: int,
    cursor: str | None = None,
    **criteria: Unpack[Criteria],
) -> list[Page[User]]:
    """Every page from `cursor` on (the first page without one), following next_cursor."""
    query = ListUsersQuery(actor, limit, cursor, **criteria)
    pages = [await list_users.execute(query)]
    while pages[-1].next_cursor is not None:
        assert len(pages) < MAX_PAGES, "the walk does not end"
        query = dataclasses.replace(query, cursor=pages[-1].next_cursor)
        pages.append(await list_users.execute(query))
    return pages


def emails(users: list[User]) -> list[str]:
    return [user.email.value for user in users]


def in_key_order(users: list[User]) -> list[User]:
    return sorted(users, key=lambda user: (user.created_at, user.id))


async def seven_accounts_with_ties(accounts: Accounts, clock: FixedClock) -> list[User]:
    """Seven accounts (the admin first), several created in the same instant, and one whose
    id is higher than that of an account created after it."""
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    clock.advance(minutes=1)
    same_instant = [await accounts.user(f"twin{i}@example.com") for i in range(3)]
    clock.advance(minutes=1)
    late = await accounts.user("late@example.com")
    early = await accounts.user("early@example.com", created_at=root.created_at)
    clock.advance(minutes=1)
    last = await accounts.user("last@example.com")
    return [root, *same_instant, late, early, last]


async def test_an_admin_gets_the_accounts_oldest_first_ties_broken_by_id(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock, uow: FakeUnitOfWorkFactory
) -> None:
    users = await seven_accounts_with_ties(accounts, clock)
    root = users[0]

    page = await list_users.execute(ListUsersQuery(accounts.signed_in(root), limit=50))

    assert page.items == in_key_order(users)
    assert emails(page.items)[:2] == ["root@example.com", "early@example.com"]
    assert page.next_cursor is None
    assert uow.commits == 0


async def test_a_page_holds_at_most_the_limit_and_says_more_exist(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock
) -> None:
    users = await seven_accounts_with_ties(accounts, clock)

    page = await list_users.execute(ListUsersQuery(accounts.signed_in(users[0]), limit=3))

    assert page.items == in_key_order(users)[:3]
    assert page.next_cursor is not None


async def test_a_page_that_ends_exactly_at_the_last_account_has_no_next_cursor(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock
) -> None:
    users = await seven_accounts_with_ties(accounts, clock)

    page = await list_users.execute(ListUsersQuery(accounts.signed_in(users[0]), limit=len(users)))

    assert page.items == in_key_order(users)
    assert page.next_cursor is None


@pytest.mark.parametrize("limit", [1, 2, 3, 6, 7, 8])
async def test_walking_every_page_visits_each_account_exactly_once_in_order(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock, limit: int
) -> None:
    users = await seven_accounts_with_ties(accounts, clock)

    pages = await walk(list_users, accounts.signed_in(users[0]), limit)

    visited = [user for page in pages for user in page.items]
    assert visited == in_key_order(users)
    assert all(0 < len(page.items) <= limit for page in pages)
    assert len(pages) == -(-len(users) // limit)


async def test_accounts_created_during_a_walk_are_each_visited_once_at_the_end(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock
) -> None:
    users = await seven_accounts_with_ties(accounts, clock)
    root = users[0]
    first = await list_users.execute(ListUsersQuery(accounts.signed_in(root), limit=3))
    clock.advance(minutes=1)
    newcomers = [await accounts.user(f"new{i}@example.com") for i in range(2)]

    rest = await walk(list_users, accounts.signed_in(root), limit=3, cursor=first.next_cursor)

    visited = first.items + [user for page in rest for user in page.items]
    assert visited == in_key_order(users) + newcomers


async def test_the_last_account_of_a_page_deleted_during_a_walk_does_not_break_the_cursor(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock, store: InMemoryStore
) -> None:
    users = in_key_order(await seven_accounts_with_ties(accounts, clock))
    root = users[0]
    first = await list_users.execute(ListUsersQuery(accounts.signed_in(root), limit=3))
    del store.users[first.items[-1].id]

    second = await list_users.execute(
        ListUsersQuery(accounts.signed_in(root), limit=3, cursor=first.next_cursor)
    )

    assert second.items == users[3:6]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("ADA", ["ada@example.com", "grace@navy.mil"], id="email or name, any case"),
        pytest.param("navy", ["grace@navy.mil"], id="part of the domain"),
        pytest.param("lovelace", ["ada@example.com"], id="part of the name"),
        pytest.param("@example.com", ["root@example.com", "ada@example.com"], id="with an @"),
        pytest.param("nobody", [], id="no match"),
    ],
)
async def test_q_matches_part_of_the_email_or_the_name_in_any_case(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock, q: str, expected: list[str]
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN, name="Root")
    clock.advance(seconds=1)
    await accounts.user("ada@example.com", name="Ada Lovelace")
    clock.advance(seconds=1)
    await accounts.user("grace@navy.mil", name="Grace Hopper, friend of Ada")

    page = await list_users.execute(ListUsersQuery(accounts.signed_in(root), limit=10, q=q))

    assert emails(page.items) == expected


async def test_q_takes_percent_and_underscore_literally(
    list_users: ListUsers, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    await accounts.user("a_b@example.com", name="100% real")
    await accounts.user("axb@example.com", name="100 real")

    underscore = await list_users.execute(
        ListUsersQuery(accounts.signed_in(root), limit=10, q="a_b")
    )
    percent = await list_users.execute(ListUsersQuery(accounts.signed_in(root), limit=10, q="0%"))

    assert emails(underscore.items) == ["a_b@example.com"]
    assert emails(percent.items) == ["a_b@example.com"]


async def test_role_and_active_state_narrow_the_list_alone_and_together(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    clock.advance(seconds=1)
    await accounts.user("retired-admin@example.com", role=Role.ADMIN, is_active=False)
    clock.advance(seconds=1)
    await accounts.user("eve@example.com")
    clock.advance(seconds=1)
    await accounts.user("gone@example.com", is_active=False)

    signed_in = accounts.signed_in(root)

    async def listed(**criteria: Unpack[Criteria]) -> list[str]:
        page = await list_users.execute(ListUsersQuery(signed_in, limit=10, **criteria))
        return emails(page.items)

    assert await listed(role=Role.ADMIN) == ["root@example.com", "retired-admin@example.com"]
    assert await listed(role=Role.USER) == ["eve@example.com", "gone@example.com"]
    assert await listed(is_active=False) == ["retired-admin@example.com", "gone@example.com"]
    assert await listed(is_active=True) == ["root@example.com", "eve@example.com"]
    assert await listed(role=Role.ADMIN, is_active=False) == ["retired-admin@example.com"]
    assert await listed(q="gone", role=Role.ADMIN) == []


async def test_walking_a_filtered_list_visits_each_match_once_and_nothing_else(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    matches = []
    for i in range(5):
        clock.advance(seconds=1)
        matches.append(await accounts.user(f"team{i}@corp.example"))
        await accounts.user(f"other{i}@example.com")

    pages = await walk(list_users, accounts.signed_in(root), limit=2, q="corp", is_active=True)

    assert [user for page in pages for user in page.items] == matches
    assert [len(page.items) for page in pages] == [2, 2, 1]


async def test_a_cursor_the_service_did_not_give_out_is_refused(
    list_users: ListUsers, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    with pytest.raises(InvalidCursor):
        await list_users.execute(
            ListUsersQuery(accounts.signed_in(root), limit=10, cursor="garbage!")
        )


async def test_accounts_created_long_apart_still_page_in_time_order(
    list_users: ListUsers, accounts: Accounts, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    clock.advance(days=400)
    newer = await accounts.user("newer@example.com")
    older = await accounts.user("older@example.com", created_at=root.created_at - timedelta(1))

    pages = await walk(list_users, accounts.signed_in(root), limit=1)

    assert [page.items for page in pages] == [[older], [root], [newer]]
