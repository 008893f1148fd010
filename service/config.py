"""One typed settings object, read from the environment once at start (`get_settings()`).

Every variable is documented in `.env.example`. When DATABASE_URL is unset, commands use the embedded PostgreSQL in
the user data directory; when KAFKA_BOOTSTRAP_SERVERS is unset, `denials demo` starts the broker binary.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PHI_KEY_FILE_NAME = "phi.key"  # the embedded database's identifier key, next to it in the data directory


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("denials", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", populate_by_name=True)

    # Connections
    database_url: str | None = Field(default=None, description="PostgreSQL URL; unset: the embedded server")
    kafka_bootstrap_servers: str | None = Field(default=None, description="host:port[,host:port]; unset: embedded")
    data_dir: Path = Field(default_factory=default_data_dir, alias="DENIALS_DATA_DIR")
    rules_dir: Path | None = Field(default=None, alias="DENIALS_RULES_DIR",
                                   description="rule tables to use instead of the packaged ones (a copy of "
                                               "service/domain/data/ with its manifest)")

    # Worker
    app_id: str = Field(default="denials", alias="DENIALS_APP_ID", description="consumer group / faust app id")
    batch_max: int = Field(default=500, ge=1, le=5000, alias="DENIALS_BATCH_MAX")
    batch_within_s: float = Field(default=0.005, gt=0, le=5, alias="DENIALS_BATCH_WITHIN_S")
    fetch_max_wait_ms: int = Field(default=25, ge=5, le=5000, alias="DENIALS_FETCH_MAX_WAIT_MS",
                                   description="longest a consumer fetch waits for data (faust's fixed 1500)")
    gc_threshold: str = Field(default="50000,20,100", pattern=r"^\s*\d+\s*(,\s*\d+\s*){0,2}$",
                              alias="DENIALS_GC_THRESHOLD",
                              description="gc.set_threshold for the worker (Python's default: 700,10,10)")
    max_record_bytes: int = Field(default=1_048_576, ge=1024, alias="DENIALS_MAX_RECORD_BYTES")
    x12_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, alias="DENIALS_X12_MAX_BYTES")
    topic_partitions: int = Field(default=12, ge=1, alias="DENIALS_TOPIC_PARTITIONS")
    rebalance_timeout_s: float = Field(default=10, gt=0, alias="DENIALS_REBALANCE_TIMEOUT_S")
    session_timeout_s: float = Field(default=10, gt=0, alias="DENIALS_SESSION_TIMEOUT_S")
    shutdown_drain_s: float = Field(default=15, gt=0, alias="DENIALS_SHUTDOWN_DRAIN_S")

    # Retries of transient failures (PostgreSQL or broker unavailable): capped exponential backoff with jitter
    # (service/retry.py), never a dead letter
    retry_initial_s: float = Field(default=0.2, gt=0, alias="DENIALS_RETRY_INITIAL_S")
    retry_max_s: float = Field(default=5.0, gt=0, alias="DENIALS_RETRY_MAX_S")

    # PostgreSQL
    db_pool_min: int = Field(default=1, ge=1, alias="DENIALS_DB_POOL_MIN")
    db_pool_max: int = Field(default=5, ge=1, alias="DENIALS_DB_POOL_MAX")
    db_command_timeout_s: float = Field(default=10, gt=0, alias="DENIALS_DB_COMMAND_TIMEOUT_S")
    db_connect_timeout_s: float = Field(default=5, gt=0, alias="DENIALS_DB_CONNECT_TIMEOUT_S")

    # Outbox relay
    relay_batch: int = Field(default=1000, ge=1, alias="DENIALS_RELAY_BATCH")
    relay_in_worker: bool = Field(default=True, alias="DENIALS_RELAY_IN_WORKER",
                                  description="false: the worker leaves the outbox to `denials relay` processes")
    producer_idempotence: bool = Field(default=False, alias="DENIALS_PRODUCER_IDEMPOTENCE",
                                       description="idempotent producer (Apache Kafka; the local broker lacks it)")
    relay_idle_s: float = Field(default=0.5, gt=0, alias="DENIALS_RELAY_IDLE_S")
    outbox_retention_h: float = Field(default=168, ge=0, alias="DENIALS_OUTBOX_RETENTION_H",
                                      description="published outbox rows are deleted this long after they were "
                                                  "written; 0 keeps them")

    # Broker loss: the worker checks its topics and the broker's answers while it runs
    recreate_topics: bool | None = Field(
        default=None, alias="DENIALS_RECREATE_TOPICS",
        description="recreate missing catalogue topics while running; unset: on only when every bootstrap server is "
                    "a loopback address (the embedded/local broker, which loses its topics when it restarts)")
    topic_check_interval_s: float = Field(default=15, gt=0, le=3600, alias="DENIALS_TOPIC_CHECK_INTERVAL_S",
                                          description="how often the worker checks its topics (also on every "
                                                      "metadata change and on the first failed commit)")
    broker_failure_threshold_s: float = Field(default=10, gt=0, le=3600, alias="DENIALS_BROKER_FAILURE_THRESHOLD_S",
                                              description="offset commits or fetches failing this long make /ready "
                                                          "false")

    # API
    api_enabled: bool = Field(default=True, alias="DENIALS_API_ENABLED")
    api_host: str = Field(default="127.0.0.1", alias="DENIALS_API_HOST")
    api_port: int = Field(default=8080, alias="DENIALS_API_PORT")
    api_max_body_bytes: int = Field(default=65_536, ge=1024, le=1_048_576, alias="DENIALS_API_MAX_BODY_BYTES",
                                    description="request bodies above this get 413")
    api_lease_s: float = Field(default=900, gt=0, le=86_400, alias="DENIALS_API_LEASE_S",
                               description="how long a leased task stays with its holder")
    api_page_max: int = Field(default=200, ge=1, le=1000, alias="DENIALS_API_PAGE_MAX")
    api_bulk_max: int = Field(default=500, ge=1, le=5000, alias="DENIALS_API_BULK_MAX")

    # Task timers (leader-only: deadline expiry and priority refresh)
    task_timers_enabled: bool = Field(default=True, alias="DENIALS_TASK_TIMERS_ENABLED")
    task_timer_interval_s: float = Field(default=30, gt=0, alias="DENIALS_TASK_TIMER_INTERVAL_S")
    task_expiry_interval_s: float = Field(default=3600, gt=0, alias="DENIALS_TASK_EXPIRY_INTERVAL_S")
    task_timezone: str = Field(default="America/Los_Angeles", alias="DENIALS_TASK_TIMEZONE",
                               description="the billing office's time zone: a deadline day ends at its midnight")

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _bootstrap_is_host_port(cls, value: str | None) -> str | None:
        """host:port[,host:port]: a malformed address fails here, in one sentence, not deep in a Kafka client."""
        for entry in (value or "").split(","):
            host, sep, port = entry.strip().rpartition(":")
            if not entry.strip() and not (value or "").strip():
                continue
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in host:
                raise ValueError(f"{entry.strip()[:60]!r} is not host:port (expected host:port[,host:port], for "
                                 "example 127.0.0.1:9092)")
        return value

    @field_validator("task_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as America/Chicago)") from None
        return value

    # Revenue follow-through: underpayments and silent claims
    underpayment_tolerance_usd: Decimal = Field(
        default=Decimal("1.00"), ge=0, le=10_000, decimal_places=2, alias="DENIALS_UNDERPAYMENT_TOLERANCE_USD",
        description="a paid line this far (or less) below its expected payment is not an underpayment")
    underpayment_tolerance_percent: Decimal = Field(
        default=Decimal("0"), ge=0, le=100, alias="DENIALS_UNDERPAYMENT_TOLERANCE_PERCENT",
        description="... or this percent of the expected payment, when larger")
    claim_timers_enabled: bool = Field(default=True, alias="DENIALS_CLAIM_TIMERS_ENABLED")
    claim_timer_interval_s: float = Field(default=3600, gt=0, alias="DENIALS_CLAIM_TIMER_INTERVAL_S",
                                          description="how often the silent-claim timer runs")
    silent_claim_days: int = Field(default=30, ge=1, le=365, alias="DENIALS_SILENT_CLAIM_DAYS",
                                   description="days without status or remittance before a status inquiry, for payers "
                                               "silent_claims.toml does not list")
    filing_warning_days: int = Field(default=30, ge=1, le=365, alias="DENIALS_FILING_WARNING_DAYS",
                                     description="a silent claim this close to its timely-filing limit gets a task")

    # Metrics: /metrics on the worker's web server and on `denials api`
    metrics_enabled: bool = Field(default=True, alias="DENIALS_METRICS_ENABLED")
    metrics_db_refresh_s: float = Field(default=15, gt=0, le=3600, alias="DENIALS_METRICS_DB_REFRESH_S",
                                        description="database gauges (tasks, outbox lag) are re-read at most this "
                                                    "often, when Prometheus scrapes")

    # Privacy: claim ids are logged only as a keyed pseudonym (HMAC); set a secret in production.
    pseudonym_key: SecretStr = Field(default=SecretStr("change-me-in-production"), alias="DENIALS_PSEUDONYM_KEY")

    # Patient identifiers (name, member id / MBI, birth date) are stored encrypted with these keys (Fernet): a
    # comma-separated list, the first encrypts, every one decrypts (rotation: put the new key first, run
    # `denials identifiers rotate`, then drop the old one). Or DENIALS_PHI_KEY_FILE: a file holding that list. With
    # neither and no DATABASE_URL, the embedded database's key file `<data dir>/phi.key` is used when it exists (the
    # demo writes it). Without any key the service runs, stores no identifiers and letters say they are withheld.
    phi_key: SecretStr | None = Field(default=None, alias="DENIALS_PHI_KEY")
    phi_key_file: Path | None = Field(default=None, alias="DENIALS_PHI_KEY_FILE")
    _phi_keys: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _read_phi_keys(self) -> Settings:
        """Read the identifier keys once, here, like every other setting (never logged, never echoed)."""
        raw = self.phi_key.get_secret_value() if self.phi_key is not None else None
        source = self.phi_key_file
        if raw is None and source is None and self.database_url is None:
            candidate = self.data_dir / PHI_KEY_FILE_NAME
            source = candidate if candidate.is_file() else None
        if raw is None and source is not None:
            try:
                raw = Path(source).read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"DENIALS_PHI_KEY_FILE cannot be read ({type(exc).__name__})") from None
        self._phi_keys = tuple(k.strip() for k in (raw or "").replace("\n", ",").split(",") if k.strip())
        return self

    @property
    def phi_keys(self) -> tuple[str, ...]:
        """The identifier keys, newest (the one that encrypts) first; empty: identifiers are not stored."""
        return self._phi_keys

    # Logging
    log_level: str = Field(default="INFO", alias="DENIALS_LOG_LEVEL")
    log_format: str = Field(default="auto", alias="DENIALS_LOG_FORMAT", description="auto | json | console")

    def recreates_topics(self, bootstrap: str) -> bool:
        """Whether missing topics are recreated while running: DENIALS_RECREATE_TOPICS, else only for a local broker."""
        if self.recreate_topics is not None:
            return self.recreate_topics
        from service.broker_health import is_local_bootstrap

        return is_local_bootstrap(bootstrap)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once per process."""
    return Settings()
