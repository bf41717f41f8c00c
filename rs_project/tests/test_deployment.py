"""The compose file implements the seed's order: PostgreSQL first (healthy), then the server
(which alone migrates), then the trainer once the server answers; one published port."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

COMPOSE = Path(settings.BASE_DIR) / "docker-compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_start_in_the_seeds_order(compose):
    services = compose["services"]

    assert services["server"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["trainer"]["depends_on"] == {"server": {"condition": "service_healthy"}}
    assert "migrate_all" in " ".join(services["server"]["command"])
    assert "migrate" not in " ".join(services["trainer"]["command"])
    assert services["trainer"]["command"][-1] == "run_trainer"


def test_postgres_and_server_have_healthchecks(compose):
    services = compose["services"]

    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    server_check = " ".join(services["server"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/" in server_check


def test_only_the_reverse_proxy_publishes_a_port(compose):
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}

    assert published["proxy"] == ["${RS_PORT:-8086}:8080"]
    assert [name for name, ports in published.items() if ports] == ["proxy"]


def test_the_reverse_proxy_buffers_requests_and_drops_slow_clients(compose):
    proxy = compose["services"]["proxy"]
    config = (Path(settings.BASE_DIR) / "deploy" / "nginx.conf").read_text()

    assert proxy["image"].startswith("nginx:")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"] == {"server": {"condition": "service_healthy"}}
    assert "server server:8000;" in config and "listen 8080;" in config
    for directive in (
        "proxy_request_buffering on;",
        "client_body_timeout 10s;",
        "client_header_timeout 10s;",
        "send_timeout 10s;",
        "client_max_body_size 10m;",
    ):
        assert directive in config


def test_model_artefacts_and_postgres_data_live_in_named_volumes(compose):
    services = compose["services"]

    assert "models:/data/models" in services["server"]["volumes"]
    assert "models:/data/models" in services["trainer"]["volumes"]
    assert any(volume.startswith("pgdata:") for volume in services["postgres"]["volumes"])
    assert set(compose["volumes"]) == {"pgdata", "models"}


def test_secrets_come_from_the_env_file_not_the_repository(compose):
    environment = compose["services"]["server"]["environment"]

    assert environment["RS_API_TOKEN"].startswith("${RS_API_TOKEN:?")
    assert environment["RS_SECRET_KEY"].startswith("${RS_SECRET_KEY:?")
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert compose["services"]["server"]["env_file"] == ".env"


def test_postgres_init_creates_one_database_per_alias():
    script = (Path(settings.BASE_DIR) / "deploy" / "postgres-init.sql").read_text()

    for alias in settings.DATABASE_ALIASES:
        assert f"CREATE DATABASE rs_{alias};" in script


needs_docker_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not installed"
)


def compose_config(directory: Path, env: str) -> subprocess.CompletedProcess:
    """`docker-compose config --quiet` on a copy of the compose file in `directory`, beside a
    throwaway .env holding `env`: the real .env holds secrets and is never committed."""
    shutil.copy(COMPOSE, directory / "docker-compose.yaml")
    (directory / ".env").write_text(env)
    return subprocess.run(
        ["docker-compose", "config", "--quiet"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


@needs_docker_compose
def test_docker_compose_validates_the_file(tmp_path):
    shutil.copytree(Path(settings.BASE_DIR) / "deploy", tmp_path / "deploy")

    result = compose_config(tmp_path, "POSTGRES_PASSWORD=p\nRS_API_TOKEN=t\nRS_SECRET_KEY=k\n")

    assert result.returncode == 0, result.stderr


@needs_docker_compose
def test_docker_compose_refuses_to_start_without_the_secrets(tmp_path):
    result = compose_config(tmp_path, "POSTGRES_PASSWORD=p\n")

    assert result.returncode != 0
    assert "RS_API_TOKEN" in result.stderr or "RS_SECRET_KEY" in result.stderr
