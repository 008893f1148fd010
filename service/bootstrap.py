"""The composition root (cosmicpython's bootstrap): the one place the service's parts are built.

`bootstrap()` reads the settings once and builds what the entrypoints share: the clock, the classifier, the pricing
rules, the member digest and pseudonymizer (from the settings' key), and the connections (the PostgreSQL pool and the
broker producer, opened at start by the process that needs them). The stream agents (agents.runtime), the API
(service.entrypoints.api), the outbox relay and the timers take these parts; none of them builds its own. The
service layer takes the clock and what the settings say as arguments and reads neither itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.adapters.clock import SystemClock
from service.adapters.connections import Connections
from service.config import Settings, get_settings
from service.domain.classification import Classifier, load_classifier
from service.domain.pricing import Tolerance, load_pricing_rules
from service.privacy import Pseudonymizer
from service.service_layer.handlers import Clock, Pricing


@dataclass(frozen=True, slots=True)
class Parts:
    """What bootstrap built, handed to every entrypoint of the process."""

    settings: Settings
    clock: Clock
    classifier: Classifier
    pricing: Pricing
    pseudonyms: Pseudonymizer
    connections: Connections

    @property
    def member_digest(self) -> Callable[[str], str]:
        """How the authorization register keys a member id (the settings' pseudonym key)."""
        return self.pseudonyms.member


def pricing_from(settings: Settings) -> Pricing:
    """The underpayment check's packaged rules with the settings' tolerance."""
    return Pricing(load_pricing_rules(), Tolerance(amount=settings.underpayment_tolerance_usd,
                                                   percent=settings.underpayment_tolerance_percent))


def bootstrap(settings: Settings | None = None, *, database_url: str | None = None,
              bootstrap_servers: str | None = None, clock: Clock | None = None,
              classifier: Classifier | None = None) -> Parts:
    """Build every shared part once. `settings`: already read (the command read them to configure logging); read
    here otherwise. `clock` and `classifier`: replacements (tests); the system clock and the packaged (or
    DENIALS_RULES_DIR) rules otherwise."""
    settings = settings if settings is not None else get_settings()
    return Parts(
        settings=settings,
        clock=clock if clock is not None else SystemClock(),
        classifier=classifier if classifier is not None else load_classifier(),
        pricing=pricing_from(settings),
        pseudonyms=Pseudonymizer(settings.pseudonym_key.get_secret_value()),
        connections=Connections(settings, database_url, bootstrap_servers),
    )


def member_digest() -> Callable[[str], str]:
    """The member digest for the one-shot commands (import, check, demo) that need nothing else bootstrap builds."""
    return Pseudonymizer(get_settings().pseudonym_key.get_secret_value()).member
