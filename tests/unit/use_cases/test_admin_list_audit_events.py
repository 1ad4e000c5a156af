"""ListAuditEvents: "who did what, when" — security events newest first, by account and type,
in pages behind an opaque cursor."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from application.errors import InvalidCursor
from application.pagination import Page
from application.use_cases.admin.list_audit_events import ListAuditEvents, ListAuditEventsQuery
from domain.audit_event import AuditEvent, AuditEventType
from domain.role import Role
from domain.user import User
from tests.fakes import FakeUnitOfWorkFactory, FixedClock
from tests.unit.builders import Accounts, AuditTrail

# More pages than any test here has events: a walk that goes on longer never ends.
MAX_PAGES = 50


def newest_first(events: list[AuditEvent]) -> list[AuditEvent]:
    return sorted(events, key=lambda event: (event.created_at, event.id), reverse=True)


async def walk(
    list_audit_events: ListAuditEvents, query: ListAuditEventsQuery
) -> list[Page[AuditEvent]]:
    """Every page, following next_cursor from the first until there is none."""
    pages = [await list_audit_events.execute(query)]
    while pages[-1].next_cursor is not None:
        assert len(pages) < MAX_PAGES, "the walk does not end"
        following = dataclasses.replace(query, cursor=pages[-1].next_cursor)
        pages.append(await list_audit_events.execute(following))
    return pages


def seven_events_with_ties(trail: AuditTrail, clock: FixedClock, user: User) -> list[AuditEvent]:
    """Seven events, several in the same instant, one recorded late about an earlier instant."""
    first = trail.event(AuditEventType.SIGNED_UP, user_id=user.id)
    clock.advance(seconds=1)
    same_instant = [trail.event(user_id=user.id) for _ in range(3)]
    clock.advance(seconds=1)
    late = trail.event(AuditEventType.LOGGED_OUT, user_id=user.id)
    backdated = trail.event(user_id=user.id, created_at=first.created_at)
    clock.advance(seconds=1)
    last = trail.event(AuditEventType.PASSWORD_CHANGED, user_id=user.id)
    return [first, *same_instant, late, backdated, last]


async def test_an_admin_gets_the_events_newest_first_ties_broken_by_id(
    list_audit_events: ListAuditEvents,
    accounts: Accounts,
    trail: AuditTrail,
    clock: FixedClock,
    uow: FakeUnitOfWorkFactory,
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    events = seven_events_with_ties(trail, clock, root)

    page = await list_audit_events.execute(ListAuditEventsQuery(accounts.signed_in(root), limit=50))

    assert page.items == newest_first(events)
    assert page.items[0].type is AuditEventType.PASSWORD_CHANGED
    assert page.next_cursor is None
    assert uow.commits == 0


async def test_a_page_holds_at_most_the_limit_and_says_more_exist(
    list_audit_events: ListAuditEvents, accounts: Accounts, trail: AuditTrail, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    events = seven_events_with_ties(trail, clock, root)

    page = await list_audit_events.execute(ListAuditEventsQuery(accounts.signed_in(root), limit=3))

    assert page.items == newest_first(events)[:3]
    assert page.next_cursor is not None


async def test_a_page_that_ends_exactly_at_the_oldest_event_has_no_next_cursor(
    list_audit_events: ListAuditEvents, accounts: Accounts, trail: AuditTrail, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    events = seven_events_with_ties(trail, clock, root)

    page = await list_audit_events.execute(
        ListAuditEventsQuery(accounts.signed_in(root), limit=len(events))
    )

    assert page.items == newest_first(events)
    assert page.next_cursor is None


@pytest.mark.parametrize("limit", [1, 2, 3, 6, 7, 8])
async def test_walking_every_page_visits_each_event_exactly_once_newest_first(
    list_audit_events: ListAuditEvents,
    accounts: Accounts,
    trail: AuditTrail,
    clock: FixedClock,
    limit: int,
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    events = seven_events_with_ties(trail, clock, root)

    pages = await walk(
        list_audit_events, ListAuditEventsQuery(accounts.signed_in(root), limit=limit)
    )

    assert [event for page in pages for event in page.items] == newest_first(events)
    assert all(0 < len(page.items) <= limit for page in pages)


async def test_events_recorded_during_a_walk_do_not_shift_the_pages(
    list_audit_events: ListAuditEvents, accounts: Accounts, trail: AuditTrail, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    events = seven_events_with_ties(trail, clock, root)
    first = await list_audit_events.execute(ListAuditEventsQuery(accounts.signed_in(root), limit=3))
    clock.advance(minutes=1)
    trail.event(user_id=root.id)
    trail.event(user_id=root.id)

    rest = await walk(
        list_audit_events,
        ListAuditEventsQuery(accounts.signed_in(root), limit=3, cursor=first.next_cursor),
    )

    assert first.items + [event for page in rest for event in page.items] == newest_first(events)


async def test_events_are_filtered_by_the_account_they_concern(
    list_audit_events: ListAuditEvents, accounts: Accounts, trail: AuditTrail, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")
    eves = []
    for _ in range(3):
        clock.advance(seconds=1)
        eves.append(trail.event(user_id=eve.id))
        trail.event(user_id=root.id)
        trail.event(AuditEventType.LOGIN_FAILED)  # an unknown email: about no account

    pages = await walk(
        list_audit_events, ListAuditEventsQuery(accounts.signed_in(root), limit=2, user_id=eve.id)
    )

    assert [event for page in pages for event in page.items] == newest_first(eves)


async def test_events_are_filtered_by_type(
    list_audit_events: ListAuditEvents, accounts: Accounts, trail: AuditTrail, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    failures = []
    for _ in range(3):
        clock.advance(seconds=1)
        failures.append(trail.event(AuditEventType.LOGIN_FAILED, user_id=root.id))
        trail.event(AuditEventType.LOGIN_SUCCEEDED, user_id=root.id)

    pages = await walk(
        list_audit_events,
        ListAuditEventsQuery(accounts.signed_in(root), limit=2, type=AuditEventType.LOGIN_FAILED),
    )

    assert [event for page in pages for event in page.items] == newest_first(failures)


async def test_account_and_type_filters_combine(
    list_audit_events: ListAuditEvents, accounts: Accounts, trail: AuditTrail, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    eve = await accounts.user("eve@example.com")
    trail.event(AuditEventType.LOGIN_FAILED, user_id=root.id)
    trail.event(AuditEventType.LOGIN_SUCCEEDED, user_id=eve.id)
    clock.advance(seconds=1)
    wanted = trail.event(AuditEventType.LOGIN_FAILED, user_id=eve.id)

    page = await list_audit_events.execute(
        ListAuditEventsQuery(
            accounts.signed_in(root), limit=10, user_id=eve.id, type=AuditEventType.LOGIN_FAILED
        )
    )

    assert page.items == [wanted]
    assert page.next_cursor is None


async def test_an_empty_trail_is_one_empty_page(
    list_audit_events: ListAuditEvents, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    page = await list_audit_events.execute(ListAuditEventsQuery(accounts.signed_in(root), limit=10))

    assert (page.items, page.next_cursor) == ([], None)


async def test_a_cursor_the_service_did_not_give_out_is_refused(
    list_audit_events: ListAuditEvents, accounts: Accounts
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)

    with pytest.raises(InvalidCursor):
        await list_audit_events.execute(
            ListAuditEventsQuery(accounts.signed_in(root), limit=10, cursor="garbage!")
        )


async def test_events_a_long_time_apart_still_page_in_time_order(
    list_audit_events: ListAuditEvents, accounts: Accounts, trail: AuditTrail, clock: FixedClock
) -> None:
    root = await accounts.user("root@example.com", role=Role.ADMIN)
    old = trail.event(user_id=root.id, created_at=clock.now() - timedelta(days=400))
    now = trail.event(user_id=root.id)

    pages = await walk(list_audit_events, ListAuditEventsQuery(accounts.signed_in(root), limit=1))

    assert [page.items for page in pages] == [[now], [old]]
