"""Which follow-up topic an action feeds, read from `data/followups.toml`."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _routes() -> dict[str, str]:
    text = resources.files("service.domain").joinpath("data/followups.toml").read_text()
    return dict(tomllib.loads(text)["action_to_followup"])


def followup_kind(action: str) -> str | None:
    """The `followups.<kind>.v1` kind an action asks for, or None when it needs no downstream worker."""
    return _routes().get(action)
