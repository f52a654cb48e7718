"""The deployment recipes in deploy/ (Procfile, systemd units, compose file, Dockerfile) are
not run here (no Docker, no systemd as PID 1), so they are checked as data: they parse, run
every role with the commands the multi-process test runs, restart what dies, and carry no
secret."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml

import app
from settings import PROJECT_ROOT, load_settings
from video.__main__ import parse_args as video_args
from video.shards import parse_shard

DEPLOY = PROJECT_ROOT / "deploy"
KOMANDO_SERVICES = {"migrate", "web", "ingest", "grab-1", "grab-2"}


def shards_cover_every_camera(specs: list[str]) -> None:
    shards = [parse_shard(spec) for spec in specs]
    assert all(s is not None for s in shards), specs
    counts = {s.count for s in shards if s is not None}
    assert len(counts) == 1, f"shards of different N: {specs}"
    assert sorted(s.index for s in shards if s is not None) == list(range(1, counts.pop() + 1))


def web_command_ok(argv: list[str]) -> None:
    assert argv[argv.index("--factory") + 1] == "app:asgi"
    assert callable(app.asgi)
    assert int(argv[argv.index("--workers") + 1]) >= 2
    assert "--proxy-headers" in argv


def test_compose_file_runs_every_role_supervised_with_healthchecks():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "postgres"} | KOMANDO_SERVICES
    for name in services:
        expected = "no" if name == "migrate" else "unless-stopped"
        assert services[name]["restart"] == expected, name
    for name in ("redis", "postgres", "web"):
        assert services[name]["healthcheck"]["test"], name
    for name in KOMANDO_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / service["build"]["context"]).resolve() == PROJECT_ROOT.resolve()
        env = service["environment"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        # The password comes from deploy/.env, never from the file itself.
        assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
        for volume in service["volumes"]:
            assert volume.split(":")[0] in compose["volumes"], volume
        if name != "migrate":
            after = service["depends_on"]
            assert after["migrate"]["condition"] == "service_completed_successfully", name
            assert after["redis"]["condition"] == "service_healthy", name
    assert services["migrate"]["command"] == ["python", "-m", "data", "migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["ingest"]["command"] == ["python", "-m", "data"]
    web_command_ok(services["web"]["command"])
    # Several workers share their metrics in a folder that is empty at each start.
    assert services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"] in services["web"]["tmpfs"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    grabs = [services[n]["command"] for n in ("grab-1", "grab-2")]
    assert all(g[:3] == ["python", "-m", "video"] for g in grabs)
    shards_cover_every_camera([video_args(g[3:]).shard for g in grabs])
    assert "${POSTGRES_PASSWORD:?" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]


def test_dockerfile_installs_the_hashed_lock_and_runs_as_a_user():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "COPY requirements.lock" in text
    assert re.search(r"pip install --require-hashes -r \S*requirements\.lock", text)
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)


def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            assert re.fullmatch(r"[a-z0-9]+", name), line
            entries[name] = shlex.split(command)
    return entries


def test_procfile_names_each_role_once():
    entries = procfile()
    assert entries["ingest"] == [".venv/bin/python", "-m", "data"]
    web_command_ok(entries["web"])
    grabs = [argv for name, argv in entries.items() if name.startswith("grab")]
    assert all(argv[:3] == [".venv/bin/python", "-m", "video"] for argv in grabs)
    shards_cover_every_camera([video_args(argv[3:]).shard for argv in grabs])


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("komando-web.service", "uvicorn"),
        ("komando-ingest.service", "-m data"),
        ("komando-grab@.service", "-m video --shard %i/${KOMANDO_GRAB_SHARDS}"),
    ],
)
def test_systemd_units_restart_their_role(name, module):
    service = unit(name)["Service"]
    assert service["Restart"] == "always"
    assert service["EnvironmentFile"] == "/etc/komando/komando.env"
    assert service["User"] == "komando"
    exec_start = " ".join(service["ExecStart"].replace("\\\n", " ").split())
    assert module in exec_start, exec_start
    assert unit(name)["Unit"]["PartOf"] == "komando.target"
    if name != "komando-grab@.service":  # grabbers touch no database
        assert "komando-migrate.service" in unit(name)["Unit"]["Requires"]


def test_systemd_web_unit_is_the_deployed_web_command():
    exec_start = unit("komando-web.service")["Service"]["ExecStart"].replace("\\", " ")
    argv = shlex.split(exec_start)
    argv[argv.index("--workers") + 1] = "4"  # ${KOMANDO_WEB_WORKERS} from the env file
    web_command_ok(argv)
    service = unit("komando-web.service")["Service"]
    assert service["Environment"] == f"PROMETHEUS_MULTIPROC_DIR=/run/{service['RuntimeDirectory']}"
    target = unit("komando.target")["Unit"]["Wants"].split()
    assert {"komando-web.service", "komando-ingest.service"} <= set(target)
    shards_cover_every_camera(
        [f"{u.split('@')[1].split('.')[0]}/2" for u in target if u.startswith("komando-grab@")]
    )


def test_env_example_is_valid_settings_without_secrets(monkeypatch, tmp_path: Path):
    values = {}
    for line in (DEPLOY / "systemd" / "komando.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    assert values["REDIS_URL"].startswith("redis://")
    assert values["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert ":CHANGE-ME@" in values["DATABASE_URL"], "a real password in the example"
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.cookie_secure == "always"
    assert settings.redis_url == values["REDIS_URL"]
