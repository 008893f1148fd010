"""docker-compose.yml and the Dockerfile, checked without a Docker engine: services, dependencies, healthchecks,
environment wiring against the service's settings, and every topic of the catalogue created as it should be."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from service.config import Settings
from topics.catalogue import CATALOGUE, CLAIM_PARTITIONS, X12_INBOUND

try:
    import yaml
except ImportError:  # pragma: no cover - a dev dependency
    pytest.fail("PyYAML is needed to parse docker-compose.yml: install the dev extra (pyyaml)", pytrace=False)

ROOT = Path(__file__).resolve().parents[2]
LONG_RUNNING = ("kafka", "postgres", "worker", "api")
ONE_SHOTS = ("topics", "migrate")
SERVICE_IMAGE_USERS = ("migrate", "worker", "api")
TOPIC_LINE = re.compile(r"^\s*create (?P<topic>\S+) --partitions (?P<partitions>\d+)"
                        r"(?: --config max\.message\.bytes=(?P<max_bytes>\d+))?\s*$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment is written as a mapping"
    return {k: str(v) for k, v in env.items()}


def _command(service: dict) -> list[str]:
    command = service.get("command")
    assert isinstance(command, list), "commands are written in exec form"
    return command


def _created_topics(services: dict) -> dict[str, tuple[int, int | None]]:
    script = _command(services["topics"])[-1]
    created: dict[str, tuple[int, int | None]] = {}
    for line in script.splitlines():
        match = TOPIC_LINE.match(line)
        if match:
            assert match["topic"] not in created, f"{match['topic']} created twice"
            max_bytes = int(match["max_bytes"]) if match["max_bytes"] else None
            created[match["topic"]] = (int(match["partitions"]), max_bytes)
    return created


def test_the_stack_has_kafka_postgres_the_one_shots_the_worker_and_the_api(services):
    assert set(services) == {*LONG_RUNNING, *ONE_SHOTS}


def test_kafka_is_the_official_image_in_kraft_mode(services):
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = _env(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert not any("zookeeper" in (name + str(svc)).lower() for name, svc in services.items())


def test_every_long_running_service_has_a_healthcheck_and_restarts(services):
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert {"interval", "timeout", "retries"} <= set(check), name
        assert services[name].get("restart") == "unless-stopped", name
    for name in ONE_SHOTS:
        assert services[name].get("restart") == "no", name
        assert "healthcheck" not in services[name], name


def test_healthchecks_ask_the_right_port_and_endpoint(services):
    worker_port = _env(services["worker"])["DENIALS_API_PORT"]
    assert f"127.0.0.1:{worker_port}/health" in " ".join(services["worker"]["healthcheck"]["test"])
    api = _command(services["api"])
    api_port = api[api.index("--port") + 1]
    assert f"127.0.0.1:{api_port}/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert "--bootstrap-server localhost:9092" in services["kafka"]["healthcheck"]["test"][1]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]


def test_dependencies_wait_for_health_or_completion(services):
    expected = {
        "topics": {"kafka": "service_healthy"},
        "migrate": {"postgres": "service_healthy"},
        "worker": {"kafka": "service_healthy", "postgres": "service_healthy",
                   "migrate": "service_completed_successfully", "topics": "service_completed_successfully"},
        "api": {"postgres": "service_healthy", "migrate": "service_completed_successfully"},
    }
    for name, deps in expected.items():
        declared = services[name]["depends_on"]
        assert {dep: spec["condition"] for dep, spec in declared.items()} == deps, name
    for name, svc in services.items():
        for dep, spec in (svc.get("depends_on") or {}).items():
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy: it needs a check"
            else:
                assert dep in ONE_SHOTS, f"{name} waits for {dep} to complete: it must be a one-shot"


def test_the_service_commands(services):
    assert _command(services["migrate"]) == ["denials", "migrate"]
    assert _command(services["worker"]) == ["denials", "worker"]
    assert _command(services["api"]) == ["denials", "api", "--host", "0.0.0.0", "--port", "8080", "--migrate"]
    for name in SERVICE_IMAGE_USERS:
        assert services[name]["build"] == "."
        assert services[name]["image"] == services["worker"]["image"]


def test_the_worker_can_scale(services):
    worker = services["worker"]
    assert "container_name" not in worker
    assert "hostname" not in worker
    assert not worker.get("ports"), "a host port would stop `--scale worker=N`"
    assert worker.get("stop_grace_period"), "SIGTERM drains in-flight batches: give it time"


def test_the_environment_wires_kafka_and_postgresql(services):
    postgres = _env(services["postgres"])
    kafka = _env(services["kafka"])
    internal = next(url for url in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",") if url.startswith("PLAINTEXT://"))
    for name in SERVICE_IMAGE_USERS:
        env = _env(services[name])
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == internal.removeprefix("PLAINTEXT://"), name
        url = urlsplit(env["DATABASE_URL"])
        assert url.scheme == "postgresql" and url.hostname == "postgres" and url.port == 5432, name
        assert url.username == postgres["POSTGRES_USER"] and url.path == f"/{postgres['POSTGRES_DB']}", name
        assert url.password == postgres["POSTGRES_PASSWORD"], name  # the same ${POSTGRES_PASSWORD:-...} on both
        # no default secret: compose refuses to start without one
        assert re.fullmatch(r"\$\{DENIALS_PSEUDONYM_KEY:\?[^}]+\}", env["DENIALS_PSEUDONYM_KEY"]), name
        assert env["DENIALS_X12_MAX_BYTES"] == str(Settings.model_fields["x12_max_bytes"].default), name
        assert env["DENIALS_TOPIC_PARTITIONS"] == str(CLAIM_PARTITIONS), name


def test_every_variable_given_to_the_service_is_a_setting(services):
    known = {(field.alias or name).upper() for name, field in Settings.model_fields.items()}
    for name in SERVICE_IMAGE_USERS:
        unknown = set(_env(services[name])) - known
        assert not unknown, f"{name}: {sorted(unknown)} are not read by service/config.py"


def test_every_catalogue_topic_is_created_with_room_to_scale(services):
    created = _created_topics(services)
    assert set(created) == set(CATALOGUE)
    for name, spec in CATALOGUE.items():
        partitions, _ = created[name]
        assert partitions >= spec.partitions, name
        if spec.key == "claim_id":
            assert partitions >= CLAIM_PARTITIONS, name
    script = _command(services["topics"])[-1]
    assert "--if-not-exists" in script and "--replication-factor 1" in script
    assert "kafka:9092" in script


def test_x12_records_fit_the_topic_and_the_broker(services):
    _, topic_max = _created_topics(services)[X12_INBOUND]
    catalogue_max = CATALOGUE[X12_INBOUND].max_message_bytes
    x12_max = Settings.model_fields["x12_max_bytes"].default
    assert catalogue_max and topic_max and topic_max >= catalogue_max >= x12_max
    kafka = _env(services["kafka"])
    assert int(kafka["KAFKA_MESSAGE_MAX_BYTES"]) >= topic_max
    assert int(kafka["KAFKA_REPLICA_FETCH_MAX_BYTES"]) >= topic_max
    assert sum(1 for line in _command(services["topics"])[-1].splitlines() if "max.message.bytes" in line) == 1


def test_the_image_is_python_311_slim_and_runs_as_an_unprivileged_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert stages and all(image.startswith("python:3.11-slim") for image in stages)
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r'^CMD \["denials", "worker"\]', dockerfile, flags=re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored and ".env" in ignored
