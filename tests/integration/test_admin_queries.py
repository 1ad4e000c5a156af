"""The queries of the admin API and the audit trail: the user list (keyset pages, filters), the
admin lock behind the last-admin rule and the audit log, on SQLite and PostgreSQL alike; and, on
PostgreSQL, the plans showing that each query is served by its index (migration 0004)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Connection, insert, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.persistence.database import Database
from adapters.persistence.tables import audit_events, users
from adapters.system.clock import SystemClock
from adapters.system.ids import RandomIdGenerator
from application.audit import AuditEvents
from application.caller import Caller, Principal
from application.pagination import Position
from application.ports.persistence import UnitOfWork, UserFilter
from application.use_cases.admin.update_user import UpdateUser, UpdateUserCommand
from domain.audit_event import AuditEvent, AuditEventType
from domain.email import Email
from domain.role import Role
from domain.user import User
from tests.databases import truncate_postgres
from tests.integration.builders import NOW, a_session, a_user, an_audit_event
from tests.integration.conftest import MEMORY, Persist, UowFactory, sql_only
from tests.integration.statements import captured_statements

PAGE = 100
EVERYONE = UserFilter()

# Runs the test where a row lock makes a second locker wait: SQLite has no row locks (its
# writers queue instead). It overrides the `backend` fixture's parameters.
where_rows_lock = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres), MEMORY], indirect=True
)


def position_of(item: User | AuditEvent) -> Position:
    return Position(created_at=item.created_at, id=item.id)


def keyset(item: User | AuditEvent) -> tuple[datetime, UUID]:
    return (item.created_at, item.id)


async def walk_users(
    uow_factory: UowFactory, filter: UserFilter = EVERYONE, *, limit: int = PAGE
) -> list[User]:
    """Every page of the list, each read in a unit of work of its own, as the API does."""
    seen: list[User] = []
    after: Position | None = None
    while True:
        async with uow_factory() as uow:
            page = await uow.users.list_page(filter, after=after, limit=limit)
        assert len(page) <= limit
        seen.extend(page)
        if len(page) < limit:
            return seen
        after = position_of(page[-1])


async def walk_audit(
    uow_factory: UowFactory,
    *,
    user_id: UUID | None = None,
    type: AuditEventType | None = None,
    limit: int = PAGE,
) -> list[AuditEvent]:
    seen: list[AuditEvent] = []
    before: Position | None = None
    while True:
        async with uow_factory() as uow:
            page = await uow.audit.list_page(user_id=user_id, type=type, before=before, limit=limit)
        assert len(page) <= limit
        seen.extend(page)
        if len(page) < limit:
            return seen
        before = position_of(page[-1])


# --- UserRepository.list_page: keyset pages -------------------------------------------------


async def test_walking_the_user_list_visits_every_user_once_in_order_while_others_sign_up(
    uow_factory: UowFactory, persist: Persist
) -> None:
    rng = random.Random(3000)
    # Three users per instant, so page boundaries (every 100) fall inside groups of equals.
    existing = [
        a_user(created_at=NOW - timedelta(days=30) + timedelta(seconds=n // 3)) for n in range(3000)
    ]
    rng.shuffle(existing)  # stored in another order than listed
    await persist(*existing)
    later = NOW + timedelta(days=1)  # after every existing user
    newcomers: list[User] = []
    walked = asyncio.Event()
    signed_up_during_the_walk = 0

    async def sign_up(worker: int) -> None:
        nonlocal signed_up_during_the_walk
        for n in range(60):
            if walked.is_set():
                return
            user = a_user(created_at=later + timedelta(microseconds=n * 10 + worker))
            await persist(user)
            newcomers.append(user)
            signed_up_during_the_walk += not walked.is_set()

    async def walk() -> list[User]:
        try:
            return await walk_users(uow_factory)
        finally:
            walked.set()

    seen, _ = await asyncio.gather(walk(), asyncio.gather(*(sign_up(w) for w in range(3))))

    assert signed_up_during_the_walk > 0  # the inserts really raced the walk
    ids = [user.id for user in seen]
    assert len(ids) == len(set(ids)), "a user was listed twice"
    assert [keyset(u) for u in seen] == sorted(keyset(u) for u in seen)
    assert seen[: len(existing)] == sorted(existing, key=keyset)  # each one, every field
    assert set(ids[len(existing) :]) <= {user.id for user in newcomers}


async def test_users_made_in_the_same_instant_are_paged_in_id_order(
    uow_factory: UowFactory, persist: Persist
) -> None:
    twins = [a_user(created_at=NOW) for _ in range(5)]
    await persist(*twins)

    async with uow_factory() as uow:
        first = await uow.users.list_page(UserFilter(), after=None, limit=2)
        second = await uow.users.list_page(UserFilter(), after=position_of(first[-1]), limit=2)
        last = await uow.users.list_page(UserFilter(), after=position_of(second[-1]), limit=2)
        beyond = await uow.users.list_page(UserFilter(), after=position_of(last[-1]), limit=2)

    assert [u.id for u in first + second + last] == sorted(u.id for u in twins)
    assert (len(first), len(second), len(last), beyond) == (2, 2, 1, [])


@pytest.mark.parametrize("offset_hours", [2, -5])
async def test_a_position_written_in_another_time_zone_means_the_same_instant(
    offset_hours: int, uow_factory: UowFactory, persist: Persist
) -> None:
    earlier, middle, later = (a_user(created_at=NOW + timedelta(hours=h)) for h in (-1, 0, 1))
    await persist(earlier, middle, later)
    elsewhere = timezone(timedelta(hours=offset_hours))
    after = Position(middle.created_at.astimezone(elsewhere), middle.id)

    async with uow_factory() as uow:
        listed = await uow.users.list_page(UserFilter(), after=after, limit=PAGE)

    assert listed == [later]


# --- UserRepository.list_page: filters ------------------------------------------------------

PEOPLE: dict[str, dict[str, Any]] = {
    "ada": {"email": "ada.lovelace@example.com", "name": "Ada Lovelace"},
    "grace": {"email": "grace_hopper@navy.example", "name": "Grace Hopper", "role": Role.ADMIN},
    "alan": {"email": "alan@example.org", "name": "ALAN TURING", "is_active": False},
    "sure": {"email": "p100@example.com", "name": "100% Sure"},
    "bob": {"email": "dos@example.com", "name": "C:\\Users\\Bob"},
    "root": {"email": "root@example.net", "name": None, "role": Role.ADMIN, "is_active": False},
    "zoe": {"email": "zoe@example.com", "name": "ZOË ÜNAL"},
    "eve": {"email": "eve@adalab.example", "name": "Eve"},
}


@pytest.fixture
async def people(persist: Persist) -> dict[str, User]:
    """The people above, created a day apart in this order."""
    made = {
        key: a_user(
            email=Email(values["email"]),
            created_at=NOW + timedelta(days=n),
            **{k: v for k, v in values.items() if k != "email"},
        )
        for n, (key, values) in enumerate(PEOPLE.items())
    }
    await persist(*reversed(made.values()))
    return made


FILTER_CASES: dict[str, list[tuple[UserFilter, list[str]]]] = {
    "role-and-active-state": [
        (UserFilter(), list(PEOPLE)),
        (UserFilter(role=Role.ADMIN), ["grace", "root"]),
        (UserFilter(role=Role.USER), ["ada", "alan", "sure", "bob", "zoe", "eve"]),
        (UserFilter(is_active=False), ["alan", "root"]),
        (UserFilter(is_active=True), ["ada", "grace", "sure", "bob", "zoe", "eve"]),
        (UserFilter(role=Role.ADMIN, is_active=False), ["root"]),
    ],
    "q-part-of-email-or-name-in-any-case": [
        (UserFilter(q="LoveLace"), ["ada"]),
        (UserFilter(q="turing"), ["alan"]),  # stored upper-case
        (UserFilter(q="NAVY.EX"), ["grace"]),  # in the email only
        (UserFilter(q="ada"), ["ada", "eve"]),  # ada's name and email, eve's email
        (UserFilter(q="zoë ün"), ["zoe"]),  # beyond ASCII
        (UserFilter(q="nobody-at-all"), []),
    ],
    "q-wildcards-are-literal": [
        (UserFilter(q="%"), ["sure"]),
        (UserFilter(q="1%e"), []),  # as a wildcard: p100@example.com, 100% Sure
        (UserFilter(q="_"), ["grace"]),
        (UserFilter(q="a_l"), []),  # as a wildcard: ada.lovelace
        (UserFilter(q="\\"), ["bob"]),
        (UserFilter(q="\\u"), ["bob"]),  # as an escape: every name with a "u"
        (UserFilter(q="\\%"), []),
    ],
    "combined": [
        (UserFilter(q="o", role=Role.USER, is_active=True), ["ada", "sure", "bob", "zoe"]),
        (UserFilter(q="ALAN", is_active=False), ["alan"]),
        (UserFilter(q="hopper", role=Role.USER), []),
        (UserFilter(q="ada", role=Role.ADMIN), []),
    ],
}


@pytest.mark.parametrize("cases", list(FILTER_CASES.values()), ids=list(FILTER_CASES))
async def test_the_user_list_filters(
    cases: list[tuple[UserFilter, list[str]]], uow_factory: UowFactory, people: dict[str, User]
) -> None:
    key_of = {user.id: key for key, user in people.items()}
    async with uow_factory() as uow:
        for filter, expected in cases:
            listed = await uow.users.list_page(filter, after=None, limit=PAGE)
            assert [key_of[user.id] for user in listed] == expected, filter
            assert listed == [people[key] for key in expected]


@pytest.mark.parametrize(
    "filter",
    [UserFilter(role=Role.USER), UserFilter(q="E", is_active=True)],
    ids=["role", "q-and-active"],
)
@pytest.mark.usefixtures("people")
async def test_a_filter_holds_on_every_page(filter: UserFilter, uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        everything = await uow.users.list_page(filter, after=None, limit=PAGE)

    assert len(everything) > 2
    assert await walk_users(uow_factory, filter, limit=2) == everything


# --- The admin lock and the last-admin rule -------------------------------------------------


async def test_the_active_admins_are_the_admins_not_deactivated(
    uow_factory: UowFactory, persist: Persist
) -> None:
    admin, other_admin = a_user(role=Role.ADMIN), a_user(role=Role.ADMIN)
    retired = a_user(role=Role.ADMIN, is_active=False)
    await persist(admin, other_admin, retired, a_user(), a_user(is_active=False))

    async with uow_factory() as uow:
        assert await uow.users.lock_active_admins() == {admin.id, other_admin.id}
        assert await uow.users.active_admins() == {admin.id, other_admin.id}


async def test_there_are_no_active_admins_before_the_first_one(
    uow_factory: UowFactory, persist: Persist
) -> None:
    await persist(a_user(), a_user(role=Role.ADMIN, is_active=False))

    async with uow_factory() as uow:
        assert await uow.users.lock_active_admins() == set()
        assert await uow.users.active_admins() == set()


@where_rows_lock
async def test_locking_the_admins_waits_for_the_transaction_holding_them(
    uow_factory: UowFactory, persist: Persist
) -> None:
    ada, bob = a_user(role=Role.ADMIN), a_user(role=Role.ADMIN)
    await persist(ada, bob)

    async def lock_later() -> set[UUID]:
        async with uow_factory() as uow:
            return await uow.users.lock_active_admins()

    async with uow_factory() as first:
        assert await first.users.lock_active_admins() == {ada.id, bob.id}
        second = asyncio.create_task(lock_later())
        await asyncio.sleep(0.3)
        assert not second.done(), "the second lock did not wait for the first transaction"
        await first.users.save(replace(bob, role=Role.USER))
        await first.commit()

    # Waiting, it sees the committed demotion, not its stale picture of two admins.
    assert await asyncio.wait_for(second, timeout=5) == {ada.id}


async def test_of_two_admins_demoting_each_other_at_once_exactly_one_succeeds(
    uow_factory: UowFactory, persist: Persist
) -> None:
    clock = SystemClock()
    ids = RandomIdGenerator()
    update_user = UpdateUser(uow_factory, clock, ids, AuditEvents(clock, ids))
    caller = Caller(ip="2001:db8::7", user_agent="race/1.0")
    changes: list[dict[str, Any]] = [{"role": Role.USER}, {"is_active": False}]

    for round in range(6):
        async with uow_factory() as uow:  # the previous round's survivor steps down
            for admin_id in await uow.users.active_admins():
                await uow.users.delete(admin_id)
            await uow.commit()
        ada, bob = a_user(role=Role.ADMIN), a_user(role=Role.ADMIN)
        adas, bobs = a_session(ada), a_session(bob)
        await persist(ada, bob, adas, bobs)
        change = changes[round % 2]

        # Both actors were loaded as admins before either change: both pass the role check.
        as_ada, as_bob = Principal(ada, adas.id), Principal(bob, bobs.id)
        results = await asyncio.gather(
            update_user.execute(UpdateUserCommand(as_ada, bob.id, caller, **change)),
            update_user.execute(UpdateUserCommand(as_bob, ada.id, caller, **change)),
            return_exceptions=True,
        )

        outcomes = sorted(type(r).__name__ for r in results)
        assert outcomes == ["LastAdmin", "User"], f"round {round}: {outcomes}"
        changed = [r for r in results if isinstance(r, User)]
        (survivor,) = {ada.id, bob.id} - {changed[0].id}
        async with uow_factory() as uow:
            assert await uow.users.active_admins() == {survivor}
            trail = [
                *await uow.audit.list_page(user_id=ada.id, type=None, before=None, limit=PAGE),
                *await uow.audit.list_page(user_id=bob.id, type=None, before=None, limit=PAGE),
            ]
        # The change that was rolled back left no event behind.
        assert [(e.user_id, e.actor_id) for e in trail] == [(changed[0].id, survivor)]


# --- AuditLog -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(
            {
                "type": AuditEventType.ROLE_CHANGED,
                "actor_id": UUID("00000000-0000-4000-8000-000000000001"),
                "ip": "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",  # 45, the longest
                "user_agent": "Mozilla/5.0 (Ünïcode; ✓) " + "x" * 480,
                "data": {
                    "old": "user",
                    "new": "admin",
                    "nested": {"count": 3, "ratio": 0.5, "none": None, "yes": True},
                    "list": ["é", 1, False],
                },
            },
            id="every-field",
        ),
        pytest.param(
            {
                "type": AuditEventType.LOGIN_FAILED,
                "user_id": None,
                "actor_id": None,
                "ip": None,
                "user_agent": None,
                "data": {},
            },
            id="nothing-optional",
        ),
    ],
)
async def test_a_recorded_event_reads_back_with_every_field(
    overrides: dict[str, Any], uow_factory: UowFactory
) -> None:
    recorded = an_audit_event(**overrides)

    async with uow_factory() as uow:
        await uow.audit.record(recorded)
        await uow.commit()

    async with uow_factory() as uow:
        (stored,) = await uow.audit.list_page(user_id=None, type=None, before=None, limit=PAGE)
    assert stored == recorded
    assert isinstance(stored.type, AuditEventType)
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_events_are_listed_newest_first_with_ties_broken_by_id(
    uow_factory: UowFactory, persist: Persist
) -> None:
    old = an_audit_event(created_at=NOW - timedelta(hours=1))
    new = an_audit_event(created_at=NOW + timedelta(hours=1))
    twins = [an_audit_event(created_at=NOW) for _ in range(4)]
    await persist(*twins, new, old)

    async with uow_factory() as uow:
        listed = await uow.audit.list_page(user_id=None, type=None, before=None, limit=PAGE)
        middle = await uow.audit.list_page(
            user_id=None, type=None, before=position_of(listed[2]), limit=2
        )

    assert listed == [new, *sorted(twins, key=lambda e: e.id, reverse=True), old]
    assert middle == listed[3:5]


async def test_events_are_filtered_by_user_by_type_and_by_both(
    uow_factory: UowFactory, persist: Persist
) -> None:
    ada, bob = a_user(), a_user()
    ada_in = an_audit_event(user_id=ada.id, created_at=NOW)
    ada_failed = an_audit_event(user_id=ada.id, type=AuditEventType.LOGIN_FAILED)
    bob_in = an_audit_event(user_id=bob.id, created_at=NOW - timedelta(hours=1))
    anonymous_failed = an_audit_event(user_id=None, actor_id=None, type=AuditEventType.LOGIN_FAILED)
    await persist(ada_in, ada_failed, bob_in, anonymous_failed)

    async def listed(user_id: UUID | None, type: AuditEventType | None) -> list[AuditEvent]:
        async with uow_factory() as uow:
            return await uow.audit.list_page(user_id=user_id, type=type, before=None, limit=PAGE)

    login_failed, login_succeeded = AuditEventType.LOGIN_FAILED, AuditEventType.LOGIN_SUCCEEDED
    assert await listed(ada.id, None) == [ada_in, ada_failed]
    assert await listed(None, login_succeeded) == [ada_in, bob_in]
    assert {e.id for e in await listed(None, login_failed)} == {ada_failed.id, anonymous_failed.id}
    assert await listed(ada.id, login_failed) == [ada_failed]
    assert await listed(bob.id, login_failed) == []
    assert await listed(None, AuditEventType.DELETED) == []


async def test_paging_back_through_a_few_hundred_events_visits_each_once(
    uow_factory: UowFactory, persist: Persist
) -> None:
    ada, bob = a_user(), a_user()
    events = [
        an_audit_event(
            user_id=(ada, bob)[n % 2].id,
            type=(AuditEventType.LOGIN_SUCCEEDED, AuditEventType.LOGIN_FAILED)[n % 3 == 0],
            created_at=NOW - timedelta(seconds=n // 4),  # four per instant
        )
        for n in range(400)
    ]
    random.Random(400).shuffle(events)
    await persist(*events)
    newest_first = sorted(events, key=keyset, reverse=True)

    assert await walk_audit(uow_factory, limit=30) == newest_first
    assert await walk_audit(uow_factory, user_id=ada.id, limit=30) == [
        e for e in newest_first if e.user_id == ada.id
    ]
    assert await walk_audit(uow_factory, type=AuditEventType.LOGIN_FAILED, limit=30) == [
        e for e in newest_first if e.type is AuditEventType.LOGIN_FAILED
    ]


@pytest.mark.parametrize("offset_hours", [2, -5])
async def test_an_audit_position_written_in_another_time_zone_means_the_same_instant(
    offset_hours: int, uow_factory: UowFactory, persist: Persist
) -> None:
    earlier, middle, later = (
        an_audit_event(created_at=NOW + timedelta(hours=h)) for h in (-1, 0, 1)
    )
    await persist(earlier, middle, later)
    before = Position(
        middle.created_at.astimezone(timezone(timedelta(hours=offset_hours))), middle.id
    )

    async with uow_factory() as uow:
        listed = await uow.audit.list_page(user_id=None, type=None, before=before, limit=PAGE)

    assert listed == [earlier]


async def test_events_outlive_the_user_they_speak_of(
    uow_factory: UowFactory, persist: Persist
) -> None:
    doomed, admin = a_user(), a_user(role=Role.ADMIN)
    signed_up = an_audit_event(user_id=doomed.id, type=AuditEventType.SIGNED_UP)
    deleted = an_audit_event(
        user_id=doomed.id, actor_id=admin.id, type=AuditEventType.DELETED, created_at=NOW
    )
    await persist(doomed, admin, signed_up)

    async with uow_factory() as uow:
        await uow.users.delete(doomed.id)
        await uow.audit.record(deleted)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(doomed.id) is None
        trail = await uow.audit.list_page(user_id=doomed.id, type=None, before=None, limit=PAGE)
    assert trail == [deleted, signed_up]


# --- Migration 0004 and the query plans -----------------------------------------------------

TRIGRAM_INDEXES = {
    "ix_users_email_trgm": "USING gin (email gin_trgm_ops)",
    "ix_users_name_trgm": "USING gin (lower((name)::text) gin_trgm_ops)",
}


@sql_only
async def test_migration_0004_makes_the_list_and_audit_indexes_and_trigrams_on_postgresql_only(
    engine: AsyncEngine,
) -> None:
    def index_names(connection: Connection) -> dict[str, set[str]]:
        inspector = inspect(connection)
        return {
            table: {index["name"] or "" for index in inspector.get_indexes(table)}
            for table in ("users", "audit_events")
        }

    async with engine.connect() as connection:
        names = await connection.run_sync(index_names)
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            indexes = await connection.execute(text("SELECT indexname, indexdef FROM pg_indexes"))
            definitions: dict[str, str] = {name: sql for name, sql in indexes.all()}
            extensions = set(
                (await connection.execute(text("SELECT extname FROM pg_extension"))).scalars()
            )

    assert {"ix_users_created_at_id", "ix_users_role_is_active"} <= names["users"]
    assert names["audit_events"] >= {
        "ix_audit_events_created_at_id",
        "ix_audit_events_user_id_created_at_id",
        "ix_audit_events_type_created_at_id",
    }
    if postgres:
        assert "pg_trgm" in extensions
        for name, shape in TRIGRAM_INDEXES.items():
            assert shape in definitions[name]
    else:
        assert not set(TRIGRAM_INDEXES) & names["users"]


FIRST_NAMES = ["Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Margaret", "Frances"]
LAST_NAMES = ["Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Hamilton", "Allen"]
RARE = AuditEventType.ROLE_CHANGED


@dataclass(frozen=True)
class PlanDataset:
    """5,000 users (1% admins, 10% deactivated, one Ada Lovelace) and 20,000 audit events,
    mostly logins, appended in time order."""

    people: list[User]
    events: list[AuditEvent]

    @property
    def middle_user(self) -> User:
        return self.people[2500]

    @property
    def quiet_user_id(self) -> UUID:  # a handful of events, as most accounts have
        return self.people[7].id

    @property
    def middle_event(self) -> AuditEvent:
        return self.events[9000]


@pytest.fixture(scope="module")
def plan_dataset() -> PlanDataset:
    rng = random.Random(5000)
    people = [
        a_user(
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            role=Role.ADMIN if n % 100 == 0 else Role.USER,
            is_active=n % 10 != 3,
            created_at=NOW - timedelta(minutes=5000 - n),
        )
        for n in range(5000)
    ]
    people[1234].name = "Ada Lovelace"
    common = [
        AuditEventType.LOGIN_SUCCEEDED,
        AuditEventType.LOGIN_FAILED,
        AuditEventType.LOGGED_OUT,
    ]
    events = [
        an_audit_event(
            user_id=rng.choice(people).id,
            type=RARE if n % 200 == 0 else rng.choice(common),
            created_at=NOW - timedelta(seconds=20000 - n // 2),
        )
        for n in range(20000)
    ]
    return PlanDataset(people, events)


async def holds(engine: AsyncEngine, dataset: PlanDataset) -> bool:
    async with engine.connect() as connection:
        found = await connection.execute(
            text(
                "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM audit_events),"
                " EXISTS (SELECT FROM audit_events WHERE id = :event_id)"
            ),
            {"event_id": dataset.middle_event.id},
        )
    return tuple(found.one()) == (len(dataset.people), len(dataset.events), True)


async def store(engine: AsyncEngine, dataset: PlanDataset) -> None:
    """Bulk inserts, then VACUUM ANALYZE as autovacuum would do. VACUUM also empties the GIN
    indexes' pending lists, which the planner would otherwise price as a long scan."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(users),
            [{**asdict(u), "email": u.email.value, "role": u.role.value} for u in dataset.people],
        )
        await connection.execute(
            insert(audit_events), [{**asdict(e), "type": e.type.value} for e in dataset.events]
        )
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("VACUUM ANALYZE users, audit_events")


@pytest.fixture
async def plan_engine(
    request: pytest.FixtureRequest, plan_dataset: PlanDataset
) -> AsyncIterator[Database]:
    """The run's shared PostgreSQL database holding the dataset: stored by the first plan test,
    kept for the next ones, and stored again if another test emptied the database meanwhile."""
    url: str = request.getfixturevalue("postgres_database")
    database = Database(url)
    try:
        if not await holds(database.engine, plan_dataset):
            await truncate_postgres(url)
            await store(database.engine, plan_dataset)
        yield database
    finally:
        await database.aclose()


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


async def explain(connection: AsyncConnection, statement: str, parameters: Any) -> dict[str, Any]:
    result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
    document = result.scalar_one()
    plan: dict[str, dict[str, Any]] = (
        json.loads(document) if isinstance(document, str) else document
    )[0]
    return plan["Plan"]


Query = Callable[[UnitOfWork, PlanDataset], Awaitable[object]]


@dataclass(frozen=True)
class PlanCase:
    query: Query
    indexes: tuple[str, ...]  # each one scanned
    scans: frozenset[str] = frozenset({"Index Scan"})
    sorted_by_index: bool = True  # no Sort node: the index gives the order, LIMIT stops early
    index_cond: str | None = None  # part of the Index Cond: the keyset is sought, not filtered


ANY_INDEX_SCAN = frozenset({"Index Scan", "Bitmap Index Scan"})

PLAN_CASES = {
    "users-first-page": PlanCase(
        lambda uow, _: uow.users.list_page(UserFilter(), after=None, limit=PAGE),
        ("ix_users_created_at_id",),
    ),
    "users-later-page": PlanCase(
        lambda uow, d: uow.users.list_page(
            UserFilter(), after=position_of(d.middle_user), limit=PAGE
        ),
        ("ix_users_created_at_id",),
        index_cond="ROW(created_at, id) > ROW(",
    ),
    "users-by-rare-role": PlanCase(
        lambda uow, _: uow.users.list_page(UserFilter(role=Role.ADMIN), after=None, limit=PAGE),
        ("ix_users_role_is_active",),
        ANY_INDEX_SCAN,
        sorted_by_index=False,
    ),
    "users-by-rare-role-and-active": PlanCase(
        lambda uow, _: uow.users.list_page(
            UserFilter(role=Role.ADMIN, is_active=True), after=None, limit=PAGE
        ),
        ("ix_users_role_is_active",),
        ANY_INDEX_SCAN,
        sorted_by_index=False,
    ),
    "users-q-search": PlanCase(
        lambda uow, _: uow.users.list_page(UserFilter(q="Lovelace"), after=None, limit=PAGE),
        ("ix_users_email_trgm", "ix_users_name_trgm"),  # OR-ed bitmaps: email or name
        frozenset({"Bitmap Index Scan"}),
        sorted_by_index=False,
    ),
    "audit-first-page": PlanCase(
        lambda uow, _: uow.audit.list_page(user_id=None, type=None, before=None, limit=PAGE),
        ("ix_audit_events_created_at_id",),
    ),
    "audit-later-page": PlanCase(
        lambda uow, d: uow.audit.list_page(
            user_id=None, type=None, before=position_of(d.middle_event), limit=PAGE
        ),
        ("ix_audit_events_created_at_id",),
        index_cond="ROW(created_at, id) < ROW(",
    ),
    "audit-by-user": PlanCase(
        lambda uow, d: uow.audit.list_page(
            user_id=d.quiet_user_id, type=None, before=None, limit=PAGE
        ),
        ("ix_audit_events_user_id_created_at_id",),
        ANY_INDEX_SCAN,
        sorted_by_index=False,  # a handful of rows: the planner may fetch, then sort them
    ),
    "audit-by-rare-type": PlanCase(
        lambda uow, _: uow.audit.list_page(user_id=None, type=RARE, before=None, limit=PAGE),
        ("ix_audit_events_type_created_at_id",),
        ANY_INDEX_SCAN,
        sorted_by_index=False,
    ),
}


@pytest.mark.postgres
@pytest.mark.parametrize("case", list(PLAN_CASES.values()), ids=list(PLAN_CASES))
async def test_the_query_plan_uses_the_index_made_for_it(
    case: PlanCase, plan_engine: Database, plan_dataset: PlanDataset
) -> None:
    engine = plan_engine.engine
    async with plan_engine.unit_of_work() as uow:
        with captured_statements(engine) as statements:
            await case.query(uow, plan_dataset)
    ((statement, parameters),) = statements

    async with engine.connect() as connection:
        plan = await explain(connection, statement, parameters)

    nodes = list(plan_nodes(plan))
    summary = json.dumps(
        [(n["Node Type"], n.get("Index Name"), n.get("Index Cond")) for n in nodes]
    )
    assert all(n["Node Type"] != "Seq Scan" for n in nodes), summary
    for index in case.indexes:
        using = [n for n in nodes if n.get("Index Name") == index]
        assert any(n["Node Type"] in case.scans for n in using), summary
        if case.index_cond:
            assert any(case.index_cond in n.get("Index Cond", "") for n in using), summary
    if case.sorted_by_index:
        assert all(n["Node Type"] != "Sort" for n in nodes), summary
