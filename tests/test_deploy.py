"""The deployment files: the image builds the wheel and runs it as a non-root user with no
compiler; the compose stack builds that image once, migrates first, and installs nothing
when a container starts. No Docker engine runs where the tests do, so these read the files;
`docker compose config` validates compose.yaml too wherever the compose plugin exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "worker", "beat", "webhooks")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def stages() -> list[list[str]]:
    """The Dockerfile's stages, each a list of instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    found: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def test_the_image_builds_the_wheel_then_installs_it_into_a_slim_runtime() -> None:
    build, runtime = stages()
    assert any("pip wheel" in line for line in build)
    assert re.match(r"FROM python:\S*-slim\b", runtime[0])
    installs = [line for line in runtime if "pip install" in line]
    assert installs and all("--no-index" in line and "royalty-ledger" in line
                            for line in installs), installs
    assert not [line for line in runtime if re.search(r"\bCOPY\b.*\b(ledger|migrations)\b", line)]


def test_the_image_runs_royalty_as_a_non_root_user_with_no_compiler() -> None:
    runtime = stages()[-1]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert [line for line in runtime if line.startswith("ENTRYPOINT")] == ['ENTRYPOINT ["royalty"]']
    assert not [line for line in runtime
                if re.search(r"apt-get install|build-essential|\bgcc\b|\bcc\b", line)]


def test_compose_builds_one_image_and_runs_every_app_service_from_it(compose: dict) -> None:
    services = compose["services"]
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["migrate"]
    image = services["migrate"]["image"]
    assert {services[name]["image"] for name in APP_SERVICES} == {image}
    for name in APP_SERVICES:
        service = services[name]
        started = " ".join(map(str, [*service.get("entrypoint", []), *service.get("command", [])]))
        assert "pip" not in started and "install" not in started, (name, started)
        assert not service.get("volumes"), f"{name} mounts {service.get('volumes')}"
        assert service["environment"]["ROYALTY_DATABASE_URL"].startswith("postgresql://")
        assert service["environment"]["ROYALTY_BROKER_URL"].startswith("amqp://")


def test_compose_migrates_once_before_the_workers_start(compose: dict) -> None:
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                     "rabbitmq": {"condition": "service_healthy"}}
    for name in ("worker", "beat", "webhooks"):
        assert services[name]["depends_on"]["migrate"] == \
            {"condition": "service_completed_successfully"}, name


def test_compose_keeps_its_health_checks_and_one_scheduler(compose: dict) -> None:
    services = compose["services"]
    assert [n for n in ("postgres", "rabbitmq", "worker", "webhooks")
            if not services[n].get("healthcheck", {}).get("test")] == []
    # A worker with its own embedded beat beside the beat service would run every
    # scheduled job twice.
    assert "--no-beat" in services["worker"]["command"]
    assert services["beat"]["entrypoint"][:4] == ["celery", "-A", "workers", "beat"]


def compose_plugin() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "compose", "version"], capture_output=True,
                                           timeout=60).returncode == 0


@pytest.mark.skipif(not compose_plugin(), reason="the docker compose plugin is not installed")
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(["docker", "compose", "--file", str(ROOT / "compose.yaml"),
                             "config", "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
