"""Keyed pseudonyms: logs and metric labels carry these instead of claim ids (PHI)."""

from __future__ import annotations

import hashlib
import hmac


class Pseudonymizer:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def claim(self, claim_id: str | None) -> str | None:
        if claim_id is None:
            return None
        digest = hmac.new(self._key, claim_id.encode(), hashlib.sha256).hexdigest()
        return f"c_{digest[:16]}"
