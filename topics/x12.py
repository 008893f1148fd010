"""`x12.inbound.v1`: a raw X12 5010 interchange. The record value is the interchange text itself (bytes); this model
describes the optional JSON envelope form a platform may use instead."""

from __future__ import annotations

from pydantic import Field

from topics.common import Envelope


class X12InboundEnvelope(Envelope):
    source: str | None = Field(default=None, max_length=200)
    filename: str | None = Field(default=None, max_length=255)
    content: str = Field(min_length=3)
