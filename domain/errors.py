"""Errors that break a domain rule. Each carries a message safe to show a client."""


class DomainError(Exception):
    """A rule of the domain was broken."""


class InvalidEmail(DomainError):
    def __init__(self, reason: str = "is not a valid email address") -> None:
        super().__init__(reason)


class InvalidDisplayName(DomainError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class WeakPassword(DomainError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
