from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.ports.security import AccessTokens


@dataclass(frozen=True, slots=True)
class PublishPublicKeysQuery:
    """Nothing to choose: the JWKS is the same for everyone."""


class PublishPublicKeys:
    """The JWKS: public keys of every key that may have signed a token still valid."""

    def __init__(self, tokens: AccessTokens) -> None:
        self._tokens = tokens

    async def execute(self, query: PublishPublicKeysQuery) -> list[dict[str, Any]]:
        return await self._tokens.public_jwks()
