"""Dead letters: records that cannot be applied are stored and published like every other emitted record.

The letter's row and its `deadletter.v1` record (an outbox row the relay publishes) are written in one transaction,
so the broker is reached by one path only (the outbox) and a letter is on the topic if and only if it is on file.
Idempotent by the letter id: a redelivered bad record stores and publishes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.service_layer.unit_of_work import DeadLetterEntry, DeadLetterUnitOfWork, OutboxRecord
from topics.catalogue import DEADLETTER


def dead_letter_record(letter: DeadLetterEntry) -> OutboxRecord:
    # The letter is its own cause: its source event (when it has a readable id) may be applied already (a conflicting
    # duplicate), and nothing that follows an event's effects by its causation id should take a letter for one.
    return OutboxRecord(event_id=letter.dead_letter_id, topic=DEADLETTER, key=letter.key, payload=letter.record,
                        causation_id=letter.dead_letter_id)


async def dead_letter(uow: DeadLetterUnitOfWork, letters: Sequence[DeadLetterEntry]) -> None:
    """Store the letters and queue their records for the relay, in one transaction."""
    if not letters:
        return
    async with uow:
        await uow.store_dead_letters(letters)
        await uow.add_to_outbox([dead_letter_record(letter) for letter in letters])
        await uow.commit()
