"""The security metrics as Prometheus counters, in the registry the HTTP app exposes at
/metrics. With PROMETHEUS_MULTIPROC_DIR set, prometheus-client writes each process's counts to
that folder, and /metrics adds them up."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from application.ports.metrics import LoginOutcome


class PrometheusSecurityMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        logins = Counter(
            "portcullis_logins", "Login attempts by outcome.", ["outcome"], registry=registry
        )
        # Every outcome from the start, at zero: a rate over a series that appears only at its
        # first increment misses that increment.
        self._logins = {outcome: logins.labels(outcome.value) for outcome in LoginOutcome}
        self._refresh_token_reuse = Counter(
            "portcullis_refresh_token_reuse_detections",
            "Replays of an already-rotated refresh token (each revoked a session).",
            registry=registry,
        )
        self._authorization_code_reuse = Counter(
            "portcullis_authorization_code_reuse_detections",
            "Authorization codes presented again after their exchange (each revoked what the"
            " first exchange opened).",
            registry=registry,
        )

    def login(self, outcome: LoginOutcome) -> None:
        self._logins[outcome].inc()

    def refresh_token_reused(self) -> None:
        self._refresh_token_reuse.inc()

    def authorization_code_reused(self) -> None:
        self._authorization_code_reuse.inc()
