"""deploy/ references only what exists: images, commands and their options, ports, env vars."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from marketdata_pipeline.config import load_config

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
APP_SERVICES = {"pools", "code-server", "webserver", "daemon", "stream", "api"}


def load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return load("docker-compose.yaml")


@pytest.fixture(scope="module")
def helm() -> dict:
    return load("helm/values.yaml")


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def image_name() -> str:
    """The tag the Dockerfile says to build it with."""
    return re.search(r"docker build -f deploy/Dockerfile -t (\S+) \.", dockerfile()).group(1)


def exposed() -> set[int]:
    return {
        int(p) for line in re.findall(r"^EXPOSE (.+)$", dockerfile(), re.M) for p in line.split()
    }


def help_of(command: list[str]) -> str:
    """`--help` of a command's subcommand (the words before its first option)."""
    words = list(itertools.takewhile(lambda w: not w.startswith("-"), command))
    answer = subprocess.run(
        [str(BIN / words[0]), *words[1:], "--help"], capture_output=True, text=True, timeout=120
    )
    assert answer.returncode == 0, answer.stderr
    return answer.stdout


def test_every_app_service_runs_the_dockerfiles_image(compose):
    services = compose["services"]
    assert set(services) == APP_SERVICES | {"postgres"}
    for name in APP_SERVICES:
        assert services[name]["image"] == f"{image_name()}:latest", name
    build = services["pools"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    code_env = services["code-server"]["environment"]
    assert code_env["DAGSTER_CURRENT_IMAGE"] == f"{image_name()}:latest"
    for source in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile(), re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"the Dockerfile copies {path}, which does not exist"


def test_every_command_and_option_exists(compose):
    commands = [compose["services"][s]["command"] for s in sorted(APP_SERVICES)]
    commands.append(yaml.safe_load(re.search(r"^CMD (\[.+\])$", dockerfile(), re.M).group(1)))
    for command in commands:
        text = help_of(command)
        for option in (w for w in command if re.fullmatch(r"--?[a-z][a-z-]*", w)):
            assert re.search(rf"(^|[\s,]){re.escape(option)}[\s,=]", text), (command, option)


def test_ports_match_the_servers_defaults_and_the_dockerfile(compose):
    services = compose["services"]
    published = {s: [int(p.split(":")[1]) for p in v.get("ports", [])] for s, v in services.items()}
    assert published["api"] == [8000] and published["webserver"] == [3000]
    assert "[default: 8000]" in help_of(["marketdata", "serve", "--port"])
    assert "defaults to 3000" in help_of(["dagster-webserver", "--port"])
    stream = services["stream"]["command"]
    assert published["stream"] == [int(stream[stream.index("--metrics-port") + 1])]
    code = services["code-server"]["command"]
    workspace = yaml.safe_load(compose["configs"]["workspace"]["content"])
    (server,) = [entry["grpc_server"] for entry in workspace["load_from"]]
    assert server == {
        "host": "code-server",
        "port": int(code[code.index("-p") + 1]),
        "location_name": "marketdata_pipeline",
    }
    assert {*(p for ports in published.values() for p in ports), server["port"]} <= exposed()


def test_every_env_var_is_defined(compose):
    env_file = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    text = (DEPLOY / "docker-compose.yaml").read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == env_file
    app_env = set(compose["services"]["api"]["environment"])
    instance = (DEPLOY / "dagster.yaml").read_text()
    assert set(re.findall(r"\{env: (\w+)\}", instance)) <= app_env
    launched = yaml.safe_load(instance)["run_launcher"]["config"]["env_vars"]
    assert set(launched) == app_env  # a launched run sees what the code server sees
    for name in APP_SERVICES:
        assert set(compose["services"][name]["environment"]) >= app_env, name


def test_helm_values_run_the_image_with_the_instances_limits(helm):
    (deployment,) = helm["dagster-user-deployments"]["deployments"]
    assert deployment["image"]["repository"] == image_name()
    module = deployment["dagsterApiGrpcArgs"][deployment["dagsterApiGrpcArgs"].index("-m") + 1]
    assert (ROOT / (module.replace(".", "/") + ".py")).exists()
    assert deployment["port"] in exposed()
    assert helm["runLauncher"]["type"] == "K8sRunLauncher"
    instance = load("dagster.yaml")["concurrency"]
    runs = helm["concurrency"]["runs"]
    assert runs["tagConcurrencyLimits"] == instance["runs"]["tag_concurrency_limits"]
    assert runs["maxConcurrentRuns"] == instance["runs"]["max_concurrent_runs"]
    pools = helm["concurrency"]["pools"]
    assert (pools["granularity"], pools["defaultLimit"]) == (
        instance["pools"]["granularity"],
        instance["pools"]["default_limit"],
    )
    storage = load("dagster.yaml")["storage"]["postgres"]["postgres_db"]
    assert helm["postgresql"]["postgresqlScheme"] == storage["scheme"]
    monitoring = load("dagster.yaml")["run_monitoring"]
    assert (
        helm["dagsterDaemon"]["runMonitoring"]["freeSlotsAfterRunEndSeconds"]
        == (monitoring["free_slots_after_run_end_seconds"])
    )
    secret = {s["name"] for s in deployment["envSecrets"]}
    assert secret == {
        s["name"] for s in helm["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]
    }


def test_the_deployed_config_loads_and_takes_its_secrets_from_the_environment(compose, helm):
    config = load_config(DEPLOY / "marketdata.yaml")
    assert config.storage_uri.startswith("s3://") and "aws_auth=true" in config.storage_uri
    coordination = config.model.coordination
    assert coordination.url.startswith("postgresql://") and "@postgres:5432/" in coordination.url
    app_env = compose["services"]["api"]["environment"]
    assert coordination.password_env in app_env
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= set(app_env)
    baked = re.search(r"MARKETDATA_CONFIG=(\S+)", dockerfile()).group(1)
    assert re.search(rf"^COPY deploy/marketdata.yaml {re.escape(baked)}$", dockerfile(), re.M)
    (deployment,) = helm["dagster-user-deployments"]["deployments"]
    assert {e["name"]: e["value"] for e in deployment["env"]}["MARKETDATA_CONFIG"] == baked
    assert app_env["MARKETDATA_CONFIG"] == baked
