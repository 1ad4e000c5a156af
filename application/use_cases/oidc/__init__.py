"""The OpenID Provider's use cases."""
