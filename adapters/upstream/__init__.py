"""Upstream identity providers that people sign in with."""
