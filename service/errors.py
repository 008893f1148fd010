"""One error root, split by what the caller should do: retry (transient) or give up on this input (permanent).

Modelled on dramatiq/arq: retry policy lives in the wrappers (agents, relay), never in the domain.
"""

from __future__ import annotations


class DenialsError(Exception):
    """Root of the service's own errors."""


class TransientError(DenialsError):
    """Retry later with backoff: PostgreSQL or the broker unreachable, a timeout. Never a dead letter."""


class PermanentError(DenialsError):
    """This input can never be processed as sent: dead-letter it (with a value-free reason) and move on."""

    def __init__(self, error_class: str, reason: str) -> None:
        super().__init__(f"{error_class}: {reason}")
        self.error_class = error_class
        self.reason = reason


class ConfigurationError(DenialsError):
    """The service cannot start as configured (bad URL, missing server binary...)."""

    exit_code = 2  # the command line's "bad usage"


class DatabaseUnreachable(TransientError):
    """PostgreSQL did not answer (refused, no route, timeout): the message names host, port and database."""


class DatabaseMisconfigured(ConfigurationError):
    """PostgreSQL answered but the configured database or role does not exist (or may not connect)."""

    exit_code = 1  # a server said no, like a server unreachable


class BrokerUnreachable(TransientError):
    """No Kafka broker answered at the configured bootstrap address (named in the message)."""
