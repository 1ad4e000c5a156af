"""Signing in through upstream OpenID providers, and the identities it links."""
