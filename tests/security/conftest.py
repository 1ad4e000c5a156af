"""The security suite attacks the real app the HTTP tests use: the fixtures of tests/e2e,
imported here because pytest only sees fixtures of a directory's own conftest and its parents."""

from __future__ import annotations

from tests.e2e.conftest import app, client, log_in, settings_overrides, sign_up

__all__ = ["app", "client", "log_in", "settings_overrides", "sign_up"]
