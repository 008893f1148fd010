"""A real faust Stream without a broker: an in-memory channel, and records put on it as a consumer would deliver them
(topic, partition, offset; the app's current consumer generation; flow control on, as in a running worker)."""

from __future__ import annotations

from typing import Any

import faust
from faust.types import Message


def in_memory_stream(*, noack: bool = False) -> tuple[Any, Any, Any]:
    app = faust.App("stream-test", broker="kafka://127.0.0.1:1", store="memory://", autodiscover=False,
                    web_enabled=False)
    app.flow_control.resume()  # a worker resumes it once partitions are assigned; a paused stream skips records
    channel = app.channel()
    stream = channel.stream()
    return app, channel, stream.noack() if noack else stream


async def event(channel: Any, topic: str, partition: int, offset: int, value: Any = None) -> Any:
    """The faust event a consumer would put on the channel for this record (value defaults to the offset)."""
    message = Message(topic, partition, offset, timestamp=0.0, timestamp_type=0, headers=[], key=b"claim",
                      value=offset if value is None else value, checksum=None,
                      generation_id=channel.app.consumer_generation_id)
    return await channel.decode(message)
