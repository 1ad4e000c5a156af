from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.oauth_client import IdTokenAlgorithm
from domain.signing_key import SIGNING_ALGORITHMS, SigningKey

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
RETIRED = T0 + timedelta(days=90)
TOKEN_LIFETIME = timedelta(minutes=15)


def a_key() -> SigningKey:
    return SigningKey(
        kid="key-1",
        algorithm="ES256",
        private_key_pem="not a real key",
        public_jwk={"kid": "key-1"},
        created_at=T0,
    )


def test_a_new_key_is_active() -> None:
    key = a_key()
    assert key.is_active
    assert key.retired_at is None


def test_retiring_a_key_records_when_and_makes_it_inactive() -> None:
    key = a_key()
    key.retire(RETIRED)
    assert key.retired_at == RETIRED
    assert not key.is_active


def test_retiring_twice_keeps_the_first_retirement_time() -> None:
    key = a_key()
    key.retire(RETIRED)
    key.retire(RETIRED + timedelta(days=1))
    assert key.retired_at == RETIRED


def test_an_active_key_may_have_signed_a_live_token_however_old_it_is() -> None:
    key = a_key()
    assert key.may_have_signed_a_live_token(T0 + timedelta(days=3650), TOKEN_LIFETIME)


def test_a_retired_key_may_have_signed_a_live_token_for_one_token_lifetime_after() -> None:
    key = a_key()
    key.retire(RETIRED)
    assert key.may_have_signed_a_live_token(RETIRED, TOKEN_LIFETIME)
    last_moment = RETIRED + TOKEN_LIFETIME - timedelta(microseconds=1)
    assert key.may_have_signed_a_live_token(last_moment, TOKEN_LIFETIME)


def test_a_retired_key_signed_no_live_token_once_a_token_lifetime_has_passed() -> None:
    key = a_key()
    key.retire(RETIRED)
    assert not key.may_have_signed_a_live_token(RETIRED + TOKEN_LIFETIME, TOKEN_LIFETIME)
    assert not key.may_have_signed_a_live_token(RETIRED + timedelta(days=1), TOKEN_LIFETIME)


def test_every_algorithm_a_client_may_register_has_a_key_rs256_first() -> None:
    assert SIGNING_ALGORITHMS[0] == "RS256"
    assert set(SIGNING_ALGORITHMS) == {algorithm.value for algorithm in IdTokenAlgorithm}
