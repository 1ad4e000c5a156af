from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.grant import Grant
from domain.oauth_scope import Scope

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_a_grant_covers_its_scopes_and_any_part_of_them() -> None:
    grant = Grant.give(UUID(int=1), "wiki", [Scope.OPENID, Scope.EMAIL], NOW)
    assert grant.covers({Scope.OPENID, Scope.EMAIL})
    assert grant.covers({Scope.OPENID})
    assert grant.covers(set())


def test_a_grant_does_not_cover_a_scope_never_granted() -> None:
    grant = Grant.give(UUID(int=1), "wiki", [Scope.OPENID, Scope.EMAIL], NOW)
    assert not grant.covers({Scope.OPENID, Scope.OFFLINE_ACCESS})


def test_widening_adds_scopes_and_keeps_the_old_ones() -> None:
    grant = Grant.give(UUID(int=1), "wiki", [Scope.OPENID, Scope.EMAIL], NOW)
    later = NOW + timedelta(days=1)
    grant.widen([Scope.OPENID, Scope.PROFILE], later)
    assert grant.scopes == {Scope.OPENID, Scope.EMAIL, Scope.PROFILE}
    assert (grant.created_at, grant.updated_at) == (NOW, later)
