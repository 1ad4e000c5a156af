from __future__ import annotations

import pytest

from application.errors import StorageUnavailable
from application.use_cases.check_readiness import CheckReadiness, CheckReadinessQuery
from application.use_cases.publish_public_keys import PublishPublicKeys, PublishPublicKeysQuery
from tests.fakes import FakeAccessTokens, FakeDatabaseProbe


async def test_the_service_is_ready_when_the_database_answers() -> None:
    probe = FakeDatabaseProbe(available=True)

    await CheckReadiness(probe).execute(CheckReadinessQuery())

    assert probe.pings == 1


async def test_an_unreachable_database_makes_the_service_unready() -> None:
    probe = FakeDatabaseProbe(available=False)

    with pytest.raises(StorageUnavailable):
        await CheckReadiness(probe).execute(CheckReadinessQuery())

    assert probe.pings == 1


async def test_the_published_keys_are_the_token_ports_public_keys(
    tokens: FakeAccessTokens,
) -> None:
    tokens.public_keys = [{"kid": "k1", "kty": "EC"}, {"kid": "k2", "kty": "OKP"}]

    assert await PublishPublicKeys(tokens).execute(PublishPublicKeysQuery()) == tokens.public_keys
