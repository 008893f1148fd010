"""Everything that touches I/O: PostgreSQL (asyncpg), the broker (aiokafka), local servers, the outbox relay."""
