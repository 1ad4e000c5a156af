"""The persistence adapters' contract, run once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import sessions
from application.errors import EmailAlreadyRegistered, NotFound
from application.ports.persistence import AuthenticatedUserReader, UserFilter
from domain.email import Email
from domain.role import Role
from domain.session import Session
from domain.session_scope import SessionScope
from domain.user import User
from tests.integration.builders import (
    NOW,
    a_session,
    a_signing_key,
    a_user,
    an_oauth_client,
    an_oauth_session,
)
from tests.integration.conftest import Persist, UowFactory, sql_only
from tests.integration.statements import captured_statements


async def fetch_user(uow_factory: UowFactory, user_id: UUID) -> User | None:
    async with uow_factory() as uow:
        return await uow.users.get(user_id)


async def save_user(uow_factory: UowFactory, user: User) -> None:
    async with uow_factory() as uow:
        await uow.users.save(user)
        await uow.commit()


async def session_rows(engine: AsyncEngine, user_id: UUID) -> dict[UUID, Any]:
    """The stored session rows of a user, revoked ones too (no port method returns those)."""
    async with engine.connect() as connection:
        result = await connection.execute(select(sessions).where(sessions.c.user_id == user_id))
        return {row.id: row for row in result}


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


# --- UserRepository -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="plain-user"),
        pytest.param(
            {"name": None, "role": Role.ADMIN, "is_active": False, "is_verified": True},
            id="admin-deactivated-verified-nameless",
        ),
        pytest.param({"name": "Zoë 李 🦉 O'Brien"}, id="non-ascii-name"),
    ],
)
async def test_an_added_user_reads_back_with_every_field_by_id_and_by_email(
    uow_factory: UowFactory, persist: Persist, overrides: dict[str, Any]
) -> None:
    user = a_user(**overrides)
    await persist(user)

    async with uow_factory() as uow:
        by_id = await uow.users.get(user.id)
        by_email = await uow.users.get_by_email(user.email)

    assert by_id == user
    assert by_email == user
    assert by_id is not None
    assert isinstance(by_id.role, Role)
    assert isinstance(by_id.email, Email)


async def test_timestamps_come_back_timezone_aware_in_utc_and_equal_to_what_was_stored(
    uow_factory: UowFactory, persist: Persist
) -> None:
    paris_summer = timezone(timedelta(hours=2))
    created_at = datetime(2026, 7, 14, 23, 59, 59, 999999, tzinfo=paris_summer)
    user = a_user(created_at=created_at, updated_at=NOW)
    await persist(user)

    stored = await fetch_user(uow_factory, user.id)

    assert stored is not None
    assert_utc(stored.created_at)
    assert_utc(stored.updated_at)
    assert stored.created_at == created_at
    assert stored.created_at == datetime(2026, 7, 14, 21, 59, 59, 999999, tzinfo=UTC)
    assert stored.updated_at == NOW


async def test_a_naive_timestamp_is_refused_rather_than_guessed(uow_factory: UowFactory) -> None:
    user = a_user(created_at=datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001 (naive on purpose)

    async with uow_factory() as uow:
        # SQLAlchemy wraps the column type's ValueError; the fake raises it as it is.
        with pytest.raises((StatementError, ValueError), match="naive datetime"):
            await uow.users.add(user)


async def test_unknown_id_and_unknown_email_find_nobody(
    uow_factory: UowFactory, persist: Persist
) -> None:
    await persist(a_user())

    async with uow_factory() as uow:
        assert await uow.users.get(uuid4()) is None
        assert await uow.users.get_by_email(Email("nobody@example.com")) is None


async def test_save_writes_back_every_field(uow_factory: UowFactory, persist: Persist) -> None:
    user = a_user()
    await persist(user)
    changed = replace(
        user,
        email=Email("renamed@example.org"),
        password_hash="$2b$04$" + "b" * 53,
        name=None,
        role=Role.ADMIN,
        is_active=False,
        is_verified=True,
        updated_at=NOW + timedelta(seconds=1),
    )

    await save_user(uow_factory, changed)

    assert await fetch_user(uow_factory, user.id) == changed
    async with uow_factory() as uow:
        assert await uow.users.get_by_email(user.email) is None
        assert await uow.users.get_by_email(changed.email) == changed


async def test_save_keeping_the_own_email_is_not_a_conflict(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)

    await save_user(uow_factory, replace(user, name="Still me"))

    stored = await fetch_user(uow_factory, user.id)
    assert stored is not None
    assert stored.name == "Still me"


async def test_save_touches_only_its_own_user(uow_factory: UowFactory, persist: Persist) -> None:
    user, other = a_user(), a_user()
    await persist(user, other)

    await save_user(uow_factory, replace(user, name="Changed"))

    assert await fetch_user(uow_factory, other.id) == other


async def test_save_writes_only_what_changed_since_the_user_was_read(
    uow_factory: UowFactory, persist: Persist
) -> None:
    """A rename must not undo what another transaction changed meanwhile: an admin's
    deactivation, say."""
    user = a_user(role=Role.ADMIN, is_verified=True)
    await persist(user)

    async with uow_factory() as renaming:
        loaded = await renaming.users.get(user.id)
        assert loaded is not None
        async with uow_factory() as admin:
            deactivated = await admin.users.get(user.id)
            assert deactivated is not None
            deactivated.is_active = False
            await admin.users.save(deactivated)
            await admin.commit()
        loaded.rename("Countess", NOW + timedelta(minutes=3))
        await renaming.users.save(loaded)
        await renaming.commit()

    stored = await fetch_user(uow_factory, user.id)
    assert stored is not None
    assert (stored.name, stored.is_active) == ("Countess", False)


@sql_only
async def test_the_usual_edit_is_one_short_update(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    user = a_user(role=Role.ADMIN, is_verified=True)
    await persist(user)

    async with uow_factory() as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None
        loaded.rename("Countess", NOW + timedelta(minutes=3))
        with captured_statements(engine) as statements:
            await uow.users.save(loaded)
        await uow.commit()

    ((update_statement, _parameters),) = statements
    assert update_statement.lstrip().upper().startswith("UPDATE USERS SET NAME=")
    assert "is_active" not in update_statement


async def test_a_tracked_user_is_saved_from_that_read(
    uow_factory: UowFactory, persist: Persist
) -> None:
    """A user read outside the unit of work (at authentication) is edited from that read."""
    user = a_user(is_verified=True)
    await persist(user)

    async with uow_factory() as uow:
        tracked = uow.users.track(user)
        tracked.rename("Countess", NOW + timedelta(minutes=1))
        await uow.users.save(tracked)
        await uow.commit()

    assert user.name != "Countess"  # the caller's copy is left as it was read
    assert await fetch_user(uow_factory, user.id) == replace(
        user, name="Countess", updated_at=NOW + timedelta(minutes=1)
    )


@sql_only
async def test_a_tracked_user_is_saved_without_being_read_again(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    """The transaction sends the UPDATE of what changed and nothing else."""
    user = a_user(is_verified=True)
    await persist(user)

    with captured_statements(engine) as statements:
        async with uow_factory() as uow:
            tracked = uow.users.track(user)
            tracked.rename("Countess", NOW + timedelta(minutes=1))
            await uow.users.save(tracked)
            await uow.commit()

    assert [sql.lstrip().split()[0].upper() for sql, _ in statements] == ["UPDATE"]
    assert "email" not in statements[0][0]


async def test_saving_a_user_deleted_meanwhile_raises_not_found(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)
    async with uow_factory() as uow:
        await uow.users.delete(user.id)
        await uow.commit()

    async with uow_factory() as uow:
        tracked = uow.users.track(user)
        tracked.rename("Ghost", NOW)
        with pytest.raises(NotFound):
            await uow.users.save(tracked)

    assert await fetch_user(uow_factory, user.id) is None


@sql_only
async def test_saving_an_unchanged_user_writes_nothing(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    user = a_user()
    await persist(user)

    async with uow_factory() as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None
        with captured_statements(engine) as statements:
            await uow.users.save(loaded)
        await uow.commit()

    assert statements == []


async def test_a_name_set_to_none_is_stored_as_none(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)

    async with uow_factory() as uow:
        loaded = await uow.users.get(user.id)
        assert loaded is not None
        loaded.rename(None, NOW)
        await uow.users.save(loaded)
        await uow.commit()

    stored = await fetch_user(uow_factory, user.id)
    assert stored is not None
    assert stored.name is None


async def test_adding_a_taken_email_raises_email_already_registered(
    uow_factory: UowFactory, persist: Persist
) -> None:
    first = a_user(email=Email("taken@example.com"))
    await persist(first)

    with pytest.raises(EmailAlreadyRegistered):
        await persist(a_user(email=Email("taken@example.com")))

    async with uow_factory() as uow:
        assert await uow.users.list_page(UserFilter(), after=None, limit=10) == [first]


async def test_saving_to_an_email_another_user_has_raises_email_already_registered(
    uow_factory: UowFactory, persist: Persist
) -> None:
    holder = a_user(email=Email("holder@example.com"))
    mover = a_user(email=Email("mover@example.com"))
    await persist(holder, mover)

    with pytest.raises(EmailAlreadyRegistered):
        await save_user(uow_factory, replace(mover, email=holder.email))

    assert await fetch_user(uow_factory, mover.id) == mover


@sql_only
async def test_delete_removes_the_user_and_cascades_to_their_sessions_only(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    doomed, bystander = a_user(), a_user()
    doomed_sessions = [a_session(doomed), a_session(doomed, revoked_at=NOW)]
    bystander_session = a_session(bystander)
    await persist(doomed, bystander, *doomed_sessions, bystander_session)

    async with uow_factory() as uow:
        await uow.users.delete(doomed.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(doomed.id) is None
        assert await uow.users.get_by_email(doomed.email) is None
        assert await uow.users.get(bystander.id) == bystander
    assert await session_rows(engine, doomed.id) == {}
    assert set(await session_rows(engine, bystander.id)) == {bystander_session.id}


async def test_delete_also_forgets_the_refresh_tokens_their_sessions_rotated_away(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)
    async with uow_factory() as uow:
        assert await uow.sessions.rotate_refresh_token(session.refresh_token_hash, "f" * 64, NOW)
        await uow.commit()

    async with uow_factory() as uow:
        await uow.users.delete(user.id)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.sessions.find_by_rotated_token(session.refresh_token_hash) is None


async def test_a_deleted_users_email_can_be_registered_again(
    uow_factory: UowFactory, persist: Persist
) -> None:
    gone = a_user(email=Email("again@example.com"))
    await persist(gone)
    async with uow_factory() as uow:
        await uow.users.delete(gone.id)
        await uow.commit()

    newcomer = a_user(email=Email("again@example.com"))
    await persist(newcomer)

    assert await fetch_user(uow_factory, newcomer.id) == newcomer


# --- SqlAlchemyUnitOfWork -------------------------------------------------------------------


async def test_leaving_the_block_without_commit_rolls_everything_back(
    uow_factory: UowFactory, persist: Persist
) -> None:
    kept = a_user()
    await persist(kept)
    unsaved = a_user()

    async with uow_factory() as uow:
        await uow.users.add(unsaved)
        await uow.users.save(replace(kept, name="Not saved"))
        await uow.sessions.add(a_session(kept))
        await uow.signing_keys.add(a_signing_key())
        assert await uow.users.get(unsaved.id) == unsaved  # visible inside its own block

    async with uow_factory() as uow:
        assert await uow.users.get(unsaved.id) is None
        assert await uow.users.get(kept.id) == kept
        assert await uow.signing_keys.list() == []
        assert await uow.sessions.revoke(SessionScope.everything(kept.id), NOW) == 0


class Boom(Exception):
    pass


async def test_an_exception_escaping_the_block_rolls_back_and_propagates_unchanged(
    uow_factory: UowFactory,
) -> None:
    user = a_user()

    async def add_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.users.add(user)
            raise Boom

    with pytest.raises(Boom):
        await add_then_fail()

    assert await fetch_user(uow_factory, user.id) is None


async def test_commit_makes_the_writes_durable_for_the_next_unit_of_work(
    uow_factory: UowFactory,
) -> None:
    user = a_user()
    key = a_signing_key()

    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.sessions.add(a_session(user))
        await uow.signing_keys.add(key)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(user.id) == user
        assert await uow.signing_keys.list() == [key]
        assert await uow.sessions.revoke(SessionScope.everything(user.id), NOW) == 1


async def test_writes_after_a_commit_need_a_commit_of_their_own(
    uow_factory: UowFactory,
) -> None:
    first, second = a_user(), a_user()

    async with uow_factory() as uow:
        await uow.users.add(first)
        await uow.commit()
        await uow.users.add(second)

    assert await fetch_user(uow_factory, first.id) == first
    assert await fetch_user(uow_factory, second.id) is None


async def test_an_exception_after_a_commit_keeps_what_was_committed(
    uow_factory: UowFactory,
) -> None:
    committed, uncommitted = a_user(), a_user()

    async def commit_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.users.add(committed)
            await uow.commit()
            await uow.users.add(uncommitted)
            raise Boom

    with pytest.raises(Boom):
        await commit_then_fail()

    assert await fetch_user(uow_factory, committed.id) == committed
    assert await fetch_user(uow_factory, uncommitted.id) is None


async def test_uncommitted_writes_are_invisible_to_a_concurrent_unit_of_work(
    uow_factory: UowFactory,
) -> None:
    user = a_user()

    async with uow_factory() as writer:
        await writer.users.add(user)
        async with uow_factory() as reader:
            assert await reader.users.get(user.id) is None
        await writer.commit()

    assert await fetch_user(uow_factory, user.id) == user


async def test_commit_outside_the_block_is_a_programming_error(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError):
        await uow.commit()

    async with uow:
        pass
    with pytest.raises(RuntimeError):
        await uow.commit()


async def test_a_unit_of_work_can_be_entered_again_after_it_was_left(
    uow_factory: UowFactory,
) -> None:
    uow = uow_factory()
    first, second = a_user(), a_user()
    async with uow:
        await uow.users.add(first)
        await uow.commit()
    async with uow:
        await uow.users.add(second)
        await uow.commit()

    assert await fetch_user(uow_factory, second.id) == second


async def test_many_units_of_work_at_once_do_not_exhaust_the_connections(
    uow_factory: UowFactory,
) -> None:
    people = [a_user() for _ in range(30)]

    async def register(user: User) -> None:
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()

    await asyncio.gather(*(register(user) for user in people))

    async with uow_factory() as uow:
        for user in people:
            assert await uow.users.get(user.id) == user


# --- SessionRepository ----------------------------------------------------------------------


@sql_only
async def test_an_added_session_is_stored_with_every_field(
    uow_factory: UowFactory, persist: Persist, engine: AsyncEngine
) -> None:
    user, client = a_user(), an_oauth_client()
    session = a_session(user, revoked_at=NOW - timedelta(seconds=1))
    bare = a_session(user, user_agent=None, ip=None)
    oauth = an_oauth_session(user, client, parent_session_id=session.id)
    await persist(user, client)

    async with uow_factory() as uow:
        for added in (session, bare, oauth):
            await uow.sessions.add(added)
        await uow.commit()

    rows = await session_rows(engine, user.id)
    field_of_column = {"scope": "scopes"}  # a set of scopes, in OAuth's singular
    for expected in (session, bare, oauth):
        row = rows[expected.id]
        stored = Session(
            **{field_of_column.get(name, name): getattr(row, name) for name in row._fields}
        )
        assert stored == expected
        assert_utc(stored.created_at)
        assert_utc(stored.expires_at)


async def test_the_user_of_a_usable_session_is_authenticated(
    authenticated_users: AuthenticatedUserReader, persist: Persist
) -> None:
    user, other = a_user(), a_user()
    session = a_session(user)
    await persist(user, other, session, a_session(other))

    found = await authenticated_users.find(session.id, user.id, NOW)

    assert found == user


@pytest.mark.parametrize(
    ("session_overrides", "asked_session", "asked_user"),
    [
        pytest.param({"revoked_at": NOW - timedelta(seconds=1)}, "it", "owner", id="revoked"),
        pytest.param({"expires_at": NOW - timedelta(microseconds=1)}, "it", "owner", id="expired"),
        pytest.param({"expires_at": NOW}, "it", "owner", id="expiring-this-instant"),
        pytest.param({}, "it", "other", id="another-users-id"),
        pytest.param({}, "it", "unknown", id="unknown-user-id"),
        pytest.param({}, "unknown", "owner", id="unknown-session-id"),
    ],
)
async def test_no_user_is_authenticated_for_a_session_that_is_not_usable_by_them(
    authenticated_users: AuthenticatedUserReader,
    persist: Persist,
    session_overrides: dict[str, Any],
    asked_session: str,
    asked_user: str,
) -> None:
    owner, other = a_user(), a_user()
    session = a_session(owner, **session_overrides)
    await persist(owner, other, session, a_session(other))
    session_id = session.id if asked_session == "it" else uuid4()
    user_id = {"owner": owner.id, "other": other.id}.get(asked_user) or uuid4()

    assert await authenticated_users.find(session_id, user_id, NOW) is None


async def test_no_user_is_authenticated_once_deactivated(
    authenticated_users: AuthenticatedUserReader, uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)

    await save_user(uow_factory, replace(user, is_active=False))

    assert await authenticated_users.find(session.id, user.id, NOW) is None


async def test_the_authenticated_user_is_the_current_row_not_a_stale_copy(
    authenticated_users: AuthenticatedUserReader, uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)
    demoted = replace(user, role=Role.USER, name="Renamed", updated_at=NOW)

    async with uow_factory() as uow:
        await uow.users.save(replace(user, role=Role.ADMIN))
        await uow.commit()
    async with uow_factory() as uow:
        assert (await authenticated_users.find(session.id, user.id, NOW)) == replace(
            user, role=Role.ADMIN
        )
        await uow.users.save(demoted)
        await uow.commit()
    async with uow_factory() as uow:
        assert await authenticated_users.find(session.id, user.id, NOW) == demoted


@sql_only
async def test_revoking_everything_revokes_every_usable_session_and_counts_them(
    authenticated_users: AuthenticatedUserReader,
    uow_factory: UowFactory,
    persist: Persist,
    engine: AsyncEngine,
) -> None:
    user, other = a_user(), a_user()
    usable = [a_session(user) for _ in range(3)]
    earlier = NOW - timedelta(days=1)
    already_revoked = a_session(user, revoked_at=earlier)
    others_session = a_session(other)
    await persist(user, other, *usable, already_revoked, others_session)
    revoked_at = NOW + timedelta(minutes=1)

    async with uow_factory() as uow:
        assert await uow.sessions.revoke(SessionScope.everything(user.id), revoked_at) == 3
        await uow.commit()

    rows = await session_rows(engine, user.id)
    assert {rows[s.id].revoked_at for s in usable} == {revoked_at}
    assert rows[already_revoked.id].revoked_at == earlier  # the first revocation is kept
    async with uow_factory() as uow:
        for session in usable:
            assert await authenticated_users.find(session.id, user.id, NOW) is None
        assert await authenticated_users.find(others_session.id, other.id, NOW) == other
        assert await uow.sessions.revoke(SessionScope.everything(user.id), revoked_at) == 0
    assert (await session_rows(engine, other.id))[others_session.id].revoked_at is None


async def test_revoking_everything_spares_the_excepted_session(
    authenticated_users: AuthenticatedUserReader, uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    current, *others = [a_session(user) for _ in range(3)]
    await persist(user, current, *others)

    async with uow_factory() as uow:
        count = await uow.sessions.revoke(SessionScope.others(user.id, current.id), NOW)
        await uow.commit()

    assert count == 2
    async with uow_factory() as uow:
        assert await authenticated_users.find(current.id, user.id, NOW) == user
        for session in others:
            assert await authenticated_users.find(session.id, user.id, NOW) is None


async def test_revoking_everything_with_no_sessions_revokes_nothing(
    uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    await persist(user)

    async with uow_factory() as uow:
        assert await uow.sessions.revoke(SessionScope.everything(user.id), NOW) == 0
        assert await uow.sessions.revoke(SessionScope.everything(uuid4()), NOW) == 0


async def test_a_scope_naming_someone_elses_session_revokes_nothing(
    authenticated_users: AuthenticatedUserReader, uow_factory: UowFactory, persist: Persist
) -> None:
    """Deleting "my" session by the id of another user's session must not log them out."""
    attacker, victim = a_user(), a_user()
    victims_session = a_session(victim)
    await persist(attacker, victim, a_session(attacker), victims_session)

    async with uow_factory() as uow:
        scope = SessionScope.one(attacker.id, victims_session.id)
        assert await uow.sessions.revoke(scope, NOW) == 0
        await uow.commit()

    async with uow_factory() as uow:
        assert await authenticated_users.find(victims_session.id, victim.id, NOW) == victim


async def test_revocation_without_commit_is_rolled_back(
    authenticated_users: AuthenticatedUserReader, uow_factory: UowFactory, persist: Persist
) -> None:
    user = a_user()
    session = a_session(user)
    await persist(user, session)

    async with uow_factory() as uow:
        assert await uow.sessions.revoke(SessionScope.everything(user.id), NOW) == 1

    async with uow_factory() as uow:
        assert await authenticated_users.find(session.id, user.id, NOW) == user


# --- SigningKeyRepository -------------------------------------------------------------------


async def test_no_signing_keys_at_first(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.signing_keys.list() == []


async def test_signing_keys_list_newest_first_with_every_field(
    uow_factory: UowFactory, persist: Persist
) -> None:
    oldest = a_signing_key(created_at=NOW - timedelta(days=60), retired_at=NOW - timedelta(days=30))
    middle = a_signing_key(algorithm="EdDSA", created_at=NOW - timedelta(days=30))
    newest = a_signing_key(algorithm="RS256", created_at=NOW)
    await persist(middle, newest, oldest)

    async with uow_factory() as uow:
        listed = await uow.signing_keys.list()

    assert listed == [newest, middle, oldest]
    for key in listed:
        assert_utc(key.created_at)
    assert_utc(listed[2].retired_at)


async def test_a_signing_keys_jwk_round_trips_as_the_same_dict(
    uow_factory: UowFactory, persist: Persist
) -> None:
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6t"
        * 4,
        "e": "AQAB",
        "kid": "2026-03-01",
        "alg": "RS256",
        "use": "sig",
        "key_ops": ["verify"],
        "x5c": [],
        "ext": True,
        "nested": {"k": None, "n": 1.5, "ü": "é"},
    }
    key = a_signing_key(kid="2026-03-01", algorithm="RS256", public_jwk=jwk)
    await persist(key)

    async with uow_factory() as uow:
        (stored,) = await uow.signing_keys.list()

    assert stored.public_jwk == jwk
    assert stored.private_key_pem == key.private_key_pem


async def test_signing_keys_made_in_the_same_instant_list_in_a_stable_order(
    uow_factory: UowFactory, persist: Persist
) -> None:
    keys = [a_signing_key(kid=f"key-{n}", created_at=NOW) for n in range(3)]
    await persist(*keys)

    async with uow_factory() as uow:
        first = [key.kid for key in await uow.signing_keys.list()]
        second = [key.kid for key in await uow.signing_keys.list()]

    assert first == second == ["key-2", "key-1", "key-0"]
