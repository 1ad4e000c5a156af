"""The first half of a sign-in through an upstream provider: where to send the browser, and the
state it must bring back."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.errors import NotFound
from application.ports.persistence import UnitOfWorkFactory
from application.ports.system import Clock, IdGenerator
from application.ports.upstream import (
    UpstreamAuthorization,
    UpstreamProviders,
    UpstreamSignInFailed,
)
from application.secret_tokens import hash_secret_token, new_secret_token
from application.use_cases.upstream.refusals import (
    FROM_PROVIDER_FAILURE,
    UpstreamSignInRefused,
)
from domain.pkce import s256_challenge
from domain.upstream_sign_in import UpstreamSignIn


@dataclass(frozen=True, slots=True)
class StartUpstreamSignInCommand:
    """`redirect_uri`: the callback registered at the provider. `return_to`: where the browser
    goes once signed in (already checked to be a path of this site). `linking_user_id`: the
    signed-in account linking the upstream account from its console, rather than a sign-in."""

    provider_id: str
    redirect_uri: str
    return_to: str | None = None
    linking_user_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class UpstreamRedirect:
    """`state` goes into the browser's cookie too: the callback must bring it in both."""

    url: str
    state: str


class StartUpstreamSignIn:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        providers: UpstreamProviders,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._providers = providers
        self._clock = clock
        self._ids = ids

    async def execute(self, command: StartUpstreamSignInCommand) -> UpstreamRedirect:
        """NotFound for a provider the settings do not name; UpstreamSignInRefused when its
        discovery document cannot be had."""
        provider = self._providers.get(command.provider_id)
        if provider is None:
            raise NotFound("provider")
        state, nonce, verifier = new_secret_token(), new_secret_token(), new_secret_token()
        try:
            url = await self._providers.authorization_url(
                UpstreamAuthorization(
                    provider_id=provider.id,
                    state=state,
                    nonce=nonce,
                    code_challenge=s256_challenge(verifier),
                    redirect_uri=command.redirect_uri,
                )
            )
        except UpstreamSignInFailed as failed:
            raise UpstreamSignInRefused(
                FROM_PROVIDER_FAILURE[failed.failure], provider.name
            ) from None
        sign_in = UpstreamSignIn.begin(
            id=self._ids.new_id(),
            state_hash=hash_secret_token(state),
            provider=provider.id,
            nonce=nonce,
            code_verifier=verifier,
            return_to=command.return_to,
            link_user_id=command.linking_user_id,
            now=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.upstream_sign_ins.add(sign_in)
            await uow.commit()
        return UpstreamRedirect(url=url, state=state)
