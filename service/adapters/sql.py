"""What every PostgreSQL adapter shares: one transaction on a pooled (or borrowed) connection, and statements built
from parameterised conditions. Values always travel as parameters; only fixed SQL text is ever joined."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

import asyncpg


class Params:
    """The positional parameters of one statement: calling it with a value appends the value and returns its
    placeholder (`$1`, `$2`, ...)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def where_clause(conditions: Iterable[str]) -> str:
    """` WHERE a AND b`, or nothing when there are no conditions."""
    conditions = list(conditions)
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


class PooledTransaction:
    """One transaction, `async with` it: on a connection acquired from the pool for its duration, or on one the caller
    owns (a leader's connection, which stays the caller's). Rolled back unless `commit()` was called; the connection
    goes back to the pool either way, or is terminated when it cannot."""

    _outside = "use it inside `async with`"

    def __init__(self, *, pool: asyncpg.Pool | None = None, conn: asyncpg.Connection | None = None,
                 acquire_timeout: float = 10) -> None:
        assert (pool is None) != (conn is None), "give a pool or a connection"
        self._pool = pool
        self._own = conn is None
        self._conn = conn
        self._acquire_timeout = acquire_timeout
        self._tx: Any = None
        self._done = False

    @property
    def conn(self) -> asyncpg.Connection:
        assert self._conn is not None, self._outside
        return self._conn

    async def __aenter__(self) -> Self:
        if self._own:
            self._conn = await self._pool.acquire(timeout=self._acquire_timeout)
        try:
            self._tx = self.conn.transaction()
            await self._tx.start()
        except BaseException:
            await self._release()
            raise
        self._done = False
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if not self._done and self._tx is not None:
                try:
                    await self._tx.rollback()
                except Exception:  # noqa: BLE001 - the connection may be gone; releasing it is what matters
                    pass
        finally:
            await self._release()

    async def commit(self) -> None:
        if not self._done:
            await self._tx.commit()
            self._done = True

    async def _release(self) -> None:
        if not self._own:
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await self._pool.release(conn, timeout=5)
            except Exception:  # noqa: BLE001 - a broken connection is discarded by terminate
                conn.terminate()
