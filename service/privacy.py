"""Keyed pseudonyms: logs and metric labels carry these instead of claim ids (PHI)."""

from __future__ import annotations

import hashlib
import hmac

from service.domain.authorizations import normalize_member


class Pseudonymizer:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def claim(self, claim_id: str | None) -> str | None:
        if claim_id is None:
            return None
        digest = hmac.new(self._key, claim_id.encode(), hashlib.sha256).hexdigest()
        return f"c_{digest[:16]}"

    def member(self, member_id: str) -> str:
        """The keyed digest the authorization register matches a member by: the register keeps it, never the id."""
        digest = hmac.new(self._key, b"member:" + normalize_member(member_id).encode(), hashlib.sha256).hexdigest()
        return f"m_{digest[:32]}"
